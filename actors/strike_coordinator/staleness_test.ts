import assert from "node:assert/strict";
import { staleAge } from "./staleness.ts";

Deno.test("staleAge() reads larger than the bound with one decimal where that suffices", () => {
  assert.equal(staleAge(10_390, 10_000), "10.4");
  assert.equal(staleAge(60_000, 10_000), "60.0");
  assert.equal(staleAge(10_960, 10_000), "11.0");
  assert.equal(staleAge(250, 200), "0.3");
});

Deno.test("staleAge() adds decimals until the age visibly exceeds the bound", () => {
  assert.equal(staleAge(10_040, 10_000), "10.04");
  assert.equal(staleAge(10_001, 10_000), "10.001");
  assert.equal(staleAge(15_040, 15_000), "15.04");
  assert.equal(staleAge(10_051, 10_050), "10.1", "rounded, and still above 10.05");
  assert.equal(staleAge(10_044, 10_041), "10.044");
  for (let age = 10_001; age <= 10_999; age++) {
    assert.ok(Number(staleAge(age, 10_000)) > 10, `${age} ms reads ${staleAge(age, 10_000)}`);
  }
});
