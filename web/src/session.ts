// The caller's token. Real-name login is an outside system (the county's identity provider):
// here the token is pasted (or minted with `civil token`) and kept for this tab only.

const KEY = "civil.token";

export interface Claims {
  sub: string;
  name: string;
  roles: string[];
  region: string;
  exp: number;
}

export function token(): string {
  return sessionStorage.getItem(KEY) ?? "";
}

export function setToken(t: string): void {
  const clean = t.trim().replace(/^Bearer\s+/i, "");
  if (clean) sessionStorage.setItem(KEY, clean);
  else sessionStorage.removeItem(KEY);
}

/** The token's claims, read for display and navigation only: the server decides what is allowed. */
export function claims(t: string = token()): Claims | null {
  const part = t.split(".")[1];
  if (!part) return null;
  try {
    const b64 = part.replace(/-/g, "+").replace(/_/g, "/");
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const c = JSON.parse(new TextDecoder().decode(bytes));
    return {
      sub: String(c.sub ?? ""),
      name: String(c.name ?? ""),
      roles: Array.isArray(c.roles) ? c.roles.map(String) : [],
      region: String(c.region ?? ""),
      exp: Number(c.exp ?? 0),
    };
  } catch {
    return null;
  }
}

export function hasRole(role: string): boolean {
  return claims()?.roles.includes(role) ?? false;
}
