import assert from "node:assert/strict";
import { candleWindows, fetchCandles } from "./candles.ts";

Deno.test("candleWindows() splits a range into minute-aligned requests of at most 300 candles", () => {
  const w = candleWindows(90_000, 700 * 60_000 + 5_000);
  assert.deepEqual(w.map((x) => (x.endMs - x.startMs) / 60_000 + 1), [300, 300, 100]);
  assert.equal(w[0]!.startMs, 60_000);
  assert.equal(w[2]!.endMs, 700 * 60_000);
});

Deno.test("fetchCandles() keeps valid finished candles, counts invalid ones, asks with ISO start/end", async () => {
  const urls: URL[] = [];
  const now = 10 * 60_000 + 30_000;
  const got = await fetchCandles(
    {
      restUrl: "http://x/",
      productId: "BTC-USD",
      now,
      fetch: (input) => {
        urls.push(new URL(String(input)));
        return Promise.resolve(Response.json([
          [600, 1, 2, 1.5, 1.75, 3], // minute 10: not finished at `now`
          [540, 1, 2, 1.5, 1.25, 3],
          [480, 0, 2, 1.5, 1.25, 3], // zero low: invalid
          ["x", 1, 2, 3, 4, 5], // invalid
        ]));
      },
    },
    8 * 60_000,
    10 * 60_000,
  );
  assert.equal(urls[0]!.pathname, "/products/BTC-USD/candles");
  assert.equal(urls[0]!.searchParams.get("granularity"), "60");
  assert.equal(urls[0]!.searchParams.get("start"), new Date(8 * 60_000).toISOString());
  assert.deepEqual(got.candles, [{
    startMs: 540_000,
    open: "1.5",
    high: "2",
    low: "1",
    close: "1.25",
    volume: "3",
  }]);
  assert.equal(got.rejected, 2);
});

Deno.test("fetchCandles() fails on an HTTP error", async () => {
  await assert.rejects(
    fetchCandles(
      {
        restUrl: "http://x",
        productId: "BTC-USD",
        now: 0,
        fetch: () => Promise.resolve(new Response("slow down", { status: 429 })),
      },
      0,
      60_000,
    ),
    /HTTP 429/,
  );
});
