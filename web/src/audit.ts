// The auditor's seam. The suite has no audit RPC yet (`civil audit-verify` runs on the server);
// when one arrives (an audit service is being added), implement `AuditSource` with its client
// here and set `available`: the audit page renders whatever `verify` answers and nothing else.

export interface AuditResult {
  ok: boolean;
  /** What the server said, e.g. "1234 rows, last signed at …". */
  detail: string;
}

export interface AuditSource {
  available: boolean;
  services: string[];
  verify(service: string): Promise<AuditResult>;
}

export function auditSource(): AuditSource {
  return {
    available: false,
    services: [],
    verify: async () => ({ ok: false, detail: "not available" }),
  };
}
