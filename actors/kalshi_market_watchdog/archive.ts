/**
 * Cold-storage archive of snapshots: gzip-compressed JSON under
 * `<dir>/<series>/<event>/<UTC stamp>.json.gz`, written to a temporary file and renamed, so a
 * reader never sees half a file. Nothing reads these at run time.
 *
 * @module
 */

/** Writes `body` as a gzip JSON file for `eventTicker` at `observedAt`; returns its path. */
export async function writeArchive(
  dir: string,
  seriesTicker: string,
  eventTicker: string,
  observedAt: Date,
  body: unknown,
): Promise<string> {
  const folder = `${dir.replace(/\/+$/, "")}/${seriesTicker}/${eventTicker}`;
  await Deno.mkdir(folder, { recursive: true });
  const stamp = observedAt.toISOString().replace(/[:.]/g, "-");
  const path = `${folder}/${stamp}.json.gz`;
  const tmp = `${path}.tmp-${crypto.randomUUID()}`;
  const gz = new Blob([JSON.stringify(body)]).stream().pipeThrough(new CompressionStream("gzip"));
  const bytes = new Uint8Array(await new Response(gz).arrayBuffer());
  try {
    await Deno.writeFile(tmp, bytes);
    await Deno.rename(tmp, path);
  } catch (error) {
    await Deno.remove(tmp).catch(() => {});
    throw error;
  }
  return path;
}
