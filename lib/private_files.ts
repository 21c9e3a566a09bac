/**
 * Files only the service's own OS user may read: backups, logs, tokens and keys. Created 0600
 * in folders created 0700, whatever the process umask (a mode given at creation is only ever
 * narrowed by the umask, and an existing file keeps its mode, so each is set explicitly).
 *
 * @example
 * ```ts
 * import { ensurePrivateFile } from "./private_files.ts";
 * const dir = await Deno.makeTempDir();
 * ensurePrivateFile(`${dir}/logs/recio.log`);
 * console.log(Deno.statSync(`${dir}/logs/recio.log`).mode! & 0o777); // 384 (0o600)
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @module
 */

/** Mode of private files. */
export const PRIVATE_FILE_MODE = 0o600;
/** Mode of the folders created for them. */
export const PRIVATE_DIR_MODE = 0o700;

/** Creates `dir` and any missing parents as 0700; an existing folder keeps its mode. */
export function ensurePrivateDir(dir: string): void {
  if (!dir || dir === ".") return;
  try {
    Deno.statSync(dir);
    return;
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  const parent = dir.includes("/") ? dir.slice(0, dir.lastIndexOf("/")) : "";
  ensurePrivateDir(parent);
  try {
    Deno.mkdirSync(dir, { mode: PRIVATE_DIR_MODE });
  } catch (e) {
    if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
    return;
  }
  Deno.chmodSync(dir, PRIVATE_DIR_MODE);
}

/** Creates `path` (empty) if missing, its folders as 0700, and makes it 0600 either way. */
export function ensurePrivateFile(path: string): void {
  const dir = path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : "";
  ensurePrivateDir(dir);
  Deno.openSync(path, { create: true, append: true, mode: PRIVATE_FILE_MODE }).close();
  Deno.chmodSync(path, PRIVATE_FILE_MODE);
}

/** Makes `path` 0600 when it has any group or other bit; true when it changed it. */
export function keepPrivate(path: string): boolean {
  const mode = Deno.statSync(path).mode;
  if (mode === null || (mode & 0o077) === 0) return false;
  Deno.chmodSync(path, PRIVATE_FILE_MODE);
  return true;
}
