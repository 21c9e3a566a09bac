import assert from "node:assert/strict";
import { checkPrice } from "./price.ts";

Deno.test("checkPrice() accepts positive decimals and rejects the rest", () => {
  assert.deepEqual(checkPrice("68900.5"), { price: "68900.5" });
  assert.deepEqual(checkPrice(12.5), { price: "12.5" });
  for (const bad of ["0", "0.000", "-1", "NaN", "Infinity", "1e5", "", " 1", Number.NaN]) {
    assert.ok("bad" in checkPrice(bad), `rejects ${bad}`);
  }
});
