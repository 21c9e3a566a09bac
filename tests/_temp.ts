/**
 * A temporary folder for one test, removed (with everything in it) when the test's scope ends:
 * `await using dir = await tempDir();`.
 *
 * @module
 */

/** A temporary folder that removes itself when disposed. */
export interface TempDir extends AsyncDisposable {
  path: string;
}

/** Creates a temporary folder (mode 0755, so other OS users such as `postgres` may enter it). */
export async function tempDir(prefix = "recio-test-"): Promise<TempDir> {
  const path = await Deno.makeTempDir({ prefix });
  await Deno.chmod(path, 0o755);
  return {
    path,
    [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }).catch(() => {}),
  };
}
