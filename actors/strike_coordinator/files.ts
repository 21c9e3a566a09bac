/**
 * Atomic JSON files: written to a temporary file in the same directory and renamed over the
 * target, so a reader sees the old file or the new one, never half of one.
 *
 * @module
 */

/** Writes `data` as JSON to `path` atomically. */
export async function writeJsonAtomic(path: string, data: unknown): Promise<void> {
  const tmp = `${path}.tmp-${crypto.randomUUID().slice(0, 8)}`;
  try {
    await Deno.writeTextFile(tmp, JSON.stringify(data, null, 2) + "\n");
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
}
