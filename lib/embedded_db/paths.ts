/**
 * POSIX `resolve` and `dirname`, as `node:path` computes them, for the embedded server's code and
 * the heart: importing any `node:` module starts Deno's Node compatibility layer in the process,
 * about 1.3 MiB RSS the heart keeps for its whole life (`bench/supervisor.ts` prints its RSS).
 * `paths_test.ts` holds both to `node:path`'s answers.
 *
 * @module
 */

/** The absolute, normalised path of `parts` joined, relative to the working directory. */
export function resolve(...parts: string[]): string {
  let joined = "";
  for (let i = parts.length - 1; i >= -1 && !joined.startsWith("/"); i--) {
    const p = i >= 0 ? parts[i]! : Deno.cwd();
    if (p) joined = joined ? `${p}/${joined}` : p;
  }
  const out: string[] = [];
  for (const seg of joined.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") out.pop();
    else out.push(seg);
  }
  return `/${out.join("/")}`;
}

/** The folder of `path`: `/a/b/` → `/a`, `/a` → `/`, `a` → `.`. */
export function dirname(path: string): string {
  const p = path.replace(/(?<=.)\/+$/, "");
  const i = p.lastIndexOf("/");
  if (i < 0) return ".";
  if (i === 0) return "/";
  return p.slice(0, i);
}
