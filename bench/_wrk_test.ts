import assert from "node:assert/strict";
import { durationMs, parseWrk } from "./_wrk.ts";

/** Output of `wrk -t1 -c2 -d1s --latency` against a server answering 404 (socket errors added). */
const REPORT = `Running 1s test @ http://127.0.0.1:41125/
  1 threads and 2 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   519.34us    1.18ms  12.35ms   88.97%
    Req/Sec    24.30k     9.44k   36.31k    70.00%
  Latency Distribution
     50%   52.00us
     75%  188.00us
     90%    1.87ms
     99%    5.29ms
  24300 requests in 1.00s, 2.87MB read
  Socket errors: connect 0, read 2, write 1, timeout 4
  Non-2xx or 3xx responses: 24300
Requests/sec:  24200.22
Transfer/sec:      2.86MB
`;

Deno.test("parseWrk() reads req/s, p50/p99 in ms, non-2xx answers and socket errors", () => {
  assert.deepEqual(parseWrk(REPORT), {
    requests: 24300,
    reqPerSec: 24200.22,
    p50Ms: 0.052,
    p99Ms: 5.29,
    non2xx: 24300,
    socketErrors: 7,
  });
  const clean = REPORT.replace(/ {2}Socket errors.*\n {2}Non-2xx.*\n/, "");
  assert.equal(parseWrk(clean).non2xx, 0);
  assert.equal(parseWrk(clean).socketErrors, 0);
});

Deno.test("parseWrk() names what is missing; durationMs() refuses an unknown unit", () => {
  assert.throws(() => parseWrk("wrk: unable to connect"), /no request count/);
  assert.throws(() => parseWrk(REPORT.replace(/ +99%.*\n/, "")), /no 99% latency/);
  assert.equal(durationMs("2.00s"), 2000);
  assert.throws(() => durationMs("3ns"), /Cannot read wrk duration "3ns"/);
});
