// The one client: OneMatterService over gRPC-Web on the port the page came from, generated from
// proto/ by `buf generate` (src/gen). Every call carries the caller's token.

import { createClient, ConnectError, Code, type Interceptor } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import { OneMatterService } from "./gen/civil/onematter/v1/onematter_pb";
import { token } from "./session";

const bearer: Interceptor = (next) => async (req) => {
  const t = token();
  if (t) req.header.set("authorization", `Bearer ${t}`);
  return next(req);
};

const transport = createGrpcWebTransport({
  baseUrl: location.origin,
  interceptors: [bearer],
});

export const onematter = createClient(OneMatterService, transport);

/** A fresh AIP-155 request id: a retried click with the same id has no second effect. */
export function requestId(): string {
  return crypto.randomUUID();
}

/** What to tell a person about a failed call, in Chinese, with the server's reason. */
export function explain(e: unknown): string {
  const err = ConnectError.from(e);
  const reason = reasonOf(err);
  const base: Partial<Record<Code, string>> = {
    [Code.Unauthenticated]: "身份凭证无效或已过期，请重新登录",
    [Code.PermissionDenied]: "无权查看或办理此事项",
    [Code.NotFound]: "未找到",
    [Code.InvalidArgument]: "填写有误",
    [Code.FailedPrecondition]: "当前状态不能办理",
    [Code.Unavailable]: "服务暂不可用，请稍后重试",
    [Code.ResourceExhausted]: "操作过于频繁，请稍后重试",
  };
  const head = base[err.code] ?? "出错了";
  const violations = fieldViolations(err);
  const detail = violations.length ? violations.join("；") : err.rawMessage;
  return `${head}${reason ? ` (${reason})` : ""}${detail ? `：${detail}` : ""}`;
}

/** The ErrorInfo reason in the status details, if any. */
export function reasonOf(err: ConnectError): string {
  for (const d of err.details) {
    if ("desc" in d) continue;
    if (d.type === "google.rpc.ErrorInfo") {
      return decodeReason(d.value);
    }
  }
  return "";
}

function fieldViolations(err: ConnectError): string[] {
  const out: string[] = [];
  for (const d of err.details) {
    if ("desc" in d || d.type !== "google.rpc.BadRequest") continue;
    out.push(...decodeStrings(d.value).filter((s) => s.length > 0));
  }
  return out;
}

// google.rpc.ErrorInfo field 1 is `reason`; read it without pulling the googleapis types in.
function decodeReason(bytes: Uint8Array): string {
  let i = 0;
  while (i < bytes.length) {
    const tag = bytes[i++];
    const [len, n] = varint(bytes, i);
    i = n;
    if (tag === 0x0a) return new TextDecoder().decode(bytes.subarray(i, i + len));
    i += len;
  }
  return "";
}

// BadRequest: repeated FieldViolation { field = 1; description = 2 } -> "field: description".
function decodeStrings(bytes: Uint8Array): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < bytes.length) {
    i++; // tag 0x0a
    const [len, n] = varint(bytes, i);
    const inner = bytes.subarray(n, n + len);
    i = n + len;
    let j = 0;
    let field = "";
    let description = "";
    while (j < inner.length) {
      const tag = inner[j++];
      const [l, m] = varint(inner, j);
      const text = new TextDecoder().decode(inner.subarray(m, m + l));
      if (tag === 0x0a) field = text;
      if (tag === 0x12) description = text;
      j = m + l;
    }
    out.push(field ? `${field}: ${description}` : description);
  }
  return out;
}

function varint(b: Uint8Array, at: number): [number, number] {
  let v = 0;
  let shift = 0;
  let i = at;
  while (i < b.length) {
    const x = b[i++];
    v |= (x & 0x7f) << shift;
    if ((x & 0x80) === 0) break;
    shift += 7;
  }
  return [v, i];
}
