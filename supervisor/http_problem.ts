/**
 * JSON problems (RFC 9457) for the status API: routes throw one `HTTPException` type through
 * {@linkcode problem}; one `onError` turns it (or anything else thrown) into
 * `{type, title, status, detail}` with content type `application/problem+json`. Errors that are
 * not ours are never echoed: a database that cannot be reached is a 503 "database unreachable",
 * anything else a 500 "internal error".
 *
 * @module
 */
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { SupervisorError } from "../lib/errors.ts";

/** The statuses the status API answers with on error. */
export type ProblemStatus = 400 | 401 | 403 | 404 | 409 | 421 | 500 | 503;

const TITLES: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  409: "Conflict",
  421: "Misdirected Request",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

/** A JSON problem with `detail` (and extra response headers, e.g. `WWW-Authenticate`). */
export function problemError(
  status: ProblemStatus,
  detail: string,
  headers?: HeadersInit,
): HTTPException {
  return new HTTPException(status, {
    message: detail,
    res: headers ? new Response(null, { headers }) : undefined,
  });
}

/** Throws {@linkcode problemError}: the one way a route fails on purpose. */
export function problem(status: ProblemStatus, detail: string, headers?: HeadersInit): never {
  throw problemError(status, detail, headers);
}

/** Connection-level failures of postgres.js (and the OS): the database is not there. */
const UNREACHABLE = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENOTFOUND",
  "CONNECT_TIMEOUT",
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "57P01",
  "57P03",
]);

/** True when `error` says the database cannot be reached (not that a query was wrong). */
export function isUnreachable(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && UNREACHABLE.has(code);
}

/** The `{status, detail}` a thrown value becomes; never the text of an error that is not ours. */
export function classify(error: unknown): { status: ContentfulStatusCode; detail: string } {
  if (error instanceof HTTPException) return { status: error.status, detail: error.message };
  // The supervisor refusing a control request (e.g. an illegal transition): its messages name
  // actors and states, never secrets.
  if (error instanceof SupervisorError) return { status: 409, detail: error.message };
  if (isUnreachable(error)) return { status: 503, detail: "database unreachable" };
  return { status: 500, detail: "internal error" };
}

/** Builds the problem response for a thrown value. */
export function problemResponse(error: unknown): Response {
  const { status, detail } = classify(error);
  const headers = new Headers({ "content-type": "application/problem+json" });
  if (error instanceof HTTPException && error.res) {
    for (const [k, v] of error.res.headers) headers.set(k, v);
  }
  const body = { type: "about:blank", title: TITLES[status] ?? "Error", status, detail };
  return new Response(JSON.stringify(body), { status, headers });
}
