import assert from "node:assert/strict";
import {
  centiCentsToDollars,
  centsToDollars,
  compareDecimal,
  decimalToScaled,
  numberToDecimal,
  scaledToDecimal,
} from "./money.ts";

Deno.test("centsToDollars() converts integer cents exactly, signs included", () => {
  assert.equal(centsToDollars(5600), "56.00");
  assert.equal(centsToDollars(7), "0.07");
  assert.equal(centsToDollars(-5), "-0.05");
  assert.equal(centsToDollars(0), "0.00");
  // 0.29 * 100 is 28.999999999999996 in floats; integer math does not go there.
  assert.equal(centsToDollars(29), "0.29");
  assert.equal(centsToDollars(9_007_199_254_740_991), "90071992547409.91");
});

Deno.test("centiCentsToDollars() converts the legacy WebSocket unit", () => {
  assert.equal(centiCentsToDollars(123456), "12.3456");
});

Deno.test("scaledToDecimal() refuses unsafe integers", () => {
  assert.throws(() => scaledToDecimal(2 ** 60, 2), RangeError);
});

Deno.test("numberToDecimal() keeps strikes as written and expands exponents", () => {
  assert.equal(numberToDecimal(114999.99), "114999.99");
  assert.equal(numberToDecimal(1e-7), "0.0000001");
  assert.throws(() => numberToDecimal(Infinity), RangeError);
});

Deno.test("decimalToScaled() and compareDecimal() compare exactly", () => {
  assert.equal(decimalToScaled("114999.99", 2), 11499999n);
  assert.equal(decimalToScaled("-0.5", 2), -50n);
  assert.equal(compareDecimal("0.10", "0.1"), 0);
  assert.equal(compareDecimal("0.3", "0.29"), 1);
  assert.throws(() => decimalToScaled("1e5"), RangeError);
});
