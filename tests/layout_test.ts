/**
 * The layout's one-way rule for `commands/`: the one-shot commands import the library, never the
 * other way round, so no file of the running system (or the demo, or the importer) imports a
 * command's entry point.
 */
import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url);
const COMMANDS = new URL("commands/", ROOT).href;
/** The folders that must not import `commands/`. */
const FOLDERS = ["supervisor", "actors", "lib", "schema", "legacy", "demo", "deploy"];
const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)["']([^"']+)["']/g;

/** The relative import specifiers of `text` that resolve into `commands/`. */
function commandImports(text: string, file: URL): string[] {
  return [...text.matchAll(SPECIFIER)]
    .map((m) => m[1]!)
    .filter((s) => s.startsWith(".") && new URL(s, file).href.startsWith(COMMANDS));
}

async function* tsFiles(dir: URL): AsyncGenerator<URL> {
  for await (const e of Deno.readDir(dir)) {
    if (e.isDirectory) yield* tsFiles(new URL(`${e.name}/`, dir));
    else if (e.isFile && e.name.endsWith(".ts")) yield new URL(e.name, dir);
  }
}

Deno.test("commandImports() finds a relative import into commands/ and nothing else", () => {
  const file = new URL("supervisor/x.ts", ROOT);
  const text = `import { a } from "../commands/status.ts";\nimport "./commands.ts";\n` +
    `import { b } from "../lib/cli.ts";\nconst c = await import("../commands/migrate.ts");`;
  assert.deepEqual(commandImports(text, file), ["../commands/status.ts", "../commands/migrate.ts"]);
});

Deno.test("layout - nothing outside tests imports commands/", async () => {
  const offenders: string[] = [];
  for (const folder of [...FOLDERS.map((f) => `${f}/`), "main.ts"]) {
    const url = new URL(folder, ROOT);
    const files = folder.endsWith("/") ? await Array.fromAsync(tsFiles(url)) : [url];
    for (const file of files) {
      for (const s of commandImports(await Deno.readTextFile(file), file)) {
        offenders.push(`${file.href.slice(ROOT.href.length)} imports ${s}`);
      }
    }
  }
  assert.deepEqual(offenders, []);
});
