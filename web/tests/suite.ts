// What the browser tests share: tokens from `civil token` (the dev issuer in the server's data
// dir), the people of a scenario, and the funeral home's death registration over HTTP/JSON.

import { execFileSync } from "node:child_process";
import { expect, type Page } from "@playwright/test";

export const COUNTY = "330723";
export const VILLAGE = "330723101001";
/** The scenarios whose pension stop the outside double refuses once (tests/examples/outside.rs). */
export const PARKED = 7;
export const PARKED_FOR_BATCH = 8;

const civil = process.env.CIVIL_TEST_CIVIL_BIN ?? "civil";
const base = process.env.CIVIL_TEST_WEB_URL ?? "http://127.0.0.1:50051";

/** A dev token for `subject` with `role` (the server's data dir is in CIVIL_DATA_DIR). */
export function token(role: string, subject: string, region = COUNTY): string {
  return execFileSync(civil, ["token", "--role", role, "--region", region, "--subject", subject], {
    encoding: "utf8",
  }).trim();
}

/** A valid 居民身份证号 from its first 17 characters (GB 11643, ISO 7064 MOD 11-2). */
export function idNumber(first17: string): string {
  const w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  const sum = [...first17].reduce((s, c, i) => s + Number(c) * w[i], 0);
  return first17 + "10X98765432"[sum % 11];
}

export interface Person {
  idNumber: string;
  name: string;
}

/** The people of scenario `n`, numbered as the Rust end-to-end tests number them. */
export function people(n: number): { deceased: Person; declarant: Person } {
  const seq = (k: number) => String(k).padStart(3, "0");
  return {
    deceased: { idNumber: idNumber(`${COUNTY}19400101${seq(2 * n + 1)}`), name: "王大明" },
    declarant: { idNumber: idNumber(`${COUNTY}19700202${seq(2 * n + 1)}`), name: "王小明" },
  };
}

/** Today in China, YYYY-MM-DD (the date of death of every scenario). */
export function today(): string {
  return new Date(Date.now() + 8 * 3600_000).toISOString().slice(0, 10);
}

/** The funeral home's call of a FuneralService RPC over the JSON edge: the answer's status
 *  and body (an AIP-193 error body when refused). */
async function funeral(rpc: string, body: object): Promise<{ status: number; json: any }> {
  const r = await fetch(`${base}/v1/civil.funeral.v1.FuneralService/${rpc}`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      authorization: `Bearer ${token("funeral_home", "funeral-home-1")}`,
    },
    body: JSON.stringify(body),
  });
  return { status: r.status, json: await r.json() };
}

function registration(n: number, declared: boolean): object {
  const p = people(n);
  const [year, month, day] = today().split("-").map(Number);
  return {
    requestId: `web-death-${n}-${Date.now()}`,
    deceased: p.deceased,
    certificate: {
      issuer: "CERTIFICATE_ISSUER_MEDICAL",
      number: `YX-WEB-${String(n).padStart(4, "0")}`,
      dateOfDeath: { year, month, day },
      placeOfDeath: "县人民医院",
      causeClass: "CAUSE_CLASS_DISEASE",
    },
    region: VILLAGE,
    ethnicity: "ETHNICITY_HAN",
    ...(declared ? { declarant: { person: p.declarant, relationship: "DECLARANT_RELATIONSHIP_CHILD" } } : {}),
  };
}

/** The funeral home registers the death of scenario `n` (with the son as declarant when
 *  `declared`) and answers its death case's name. A death the family's application already
 *  registered is refused FUNERAL_DEATH_CASE_EXISTS naming the existing case: that one is used. */
export async function funeralDeathCase(n: number, declared = false): Promise<string> {
  const r = await funeral("RegisterDeath", registration(n, declared));
  if (r.status === 200) return r.json.name as string;
  const info = (r.json?.error?.details ?? []).find((d: any) => d.reason === "FUNERAL_DEATH_CASE_EXISTS");
  expect(info?.metadata?.death_case, JSON.stringify(r.json)).toMatch(/^cases\//);
  return info.metadata.death_case as string;
}

/** The funeral home books a furnace for today (slot `n % 8 + 1` of the county's eight, as the
 *  Rust end-to-end tests number them) and cremates, issuing the cremation certificate (火化证明)
 *  that household deregistration waits for. Answers the certificate's number. */
export async function cremate(deathCase: string, n: number): Promise<string> {
  const [year, month, day] = today().split("-").map(Number);
  const booked = await funeral("BookCremation", {
    requestId: `web-book-${n}-${Date.now()}`,
    deathCase,
    day: { year, month, day },
    slot: (n % 8) + 1,
  });
  expect(booked.status, JSON.stringify(booked.json)).toBe(200);
  const done = await funeral("CompleteCremation", { requestId: `web-cremate-${n}-${Date.now()}`, deathCase });
  expect(done.status, JSON.stringify(done.json)).toBe(200);
  expect(done.json.number).toBeTruthy();
  return done.json.number as string;
}

/** The funeral home registers the death (with the son as declarant when `declared`): this
 *  starts the after-death case without application (免申即享); then it cremates. */
export async function registerDeath(n: number, declared: boolean): Promise<void> {
  await cremate(await funeralDeathCase(n, declared), n);
}

/** Signs in on the page with a pasted token, as a person would. */
export async function signIn(page: Page, t: string): Promise<void> {
  await page.goto("/");
  await page.getByLabel("令牌").fill(t);
  await page.getByRole("button", { name: "进入" }).click();
}

/** Where screenshots go: test-results/ by default; `CIVIL_TEST_WEB_SHOTS=../docs/web` refreshes
 *  the ones the README links. */
export const shots = process.env.CIVIL_TEST_WEB_SHOTS ?? "test-results/screens";
