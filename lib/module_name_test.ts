import assert from "node:assert/strict";
import { moduleName } from "./module_name.ts";

Deno.test("moduleName() shows a module relative to the project, never the machine's path", () => {
  const inside = new URL("../actors/price_watchdog/worker.ts", import.meta.url).href;
  assert.equal(moduleName(inside), "actors/price_watchdog/worker.ts");
  assert.equal(
    moduleName("file:///srv/elsewhere/my%20actor.ts"),
    "(outside the project)/my actor.ts",
  );
  assert.equal(moduleName("data:text/javascript,1"), "(data module)");
  assert.equal(moduleName("not a url"), "(invalid module URL)");
  assert.ok(!moduleName(inside).startsWith("/"));
});
