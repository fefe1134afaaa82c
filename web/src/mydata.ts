// 我的数据谁用了: the citizen's view of who read or changed their records, from
// AuditTrailService/ListMyRecordAccess. The server decides whose records they are (the verified
// identity number in the token); the page asks nothing and shows only what the answer holds:
// service, time, organisation and role, action, purpose, outcome. Never a clerk's name.

import { createClient, type Interceptor } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import { AuditTrailService, type RecordAccess } from "./gen/civil/audit/v1/audit_pb";
import { explain } from "./api";
import { token } from "./session";
import { h, replace } from "./dom";
import { time } from "./labels";

const bearer: Interceptor = (next) => async (req) => {
  const t = token();
  if (t) req.header.set("authorization", `Bearer ${t}`);
  return next(req);
};

const audit = createClient(
  AuditTrailService,
  createGrpcWebTransport({ baseUrl: location.origin, interceptors: [bearer] }),
);

/** The bureau behind each service's trail. */
const services: Record<string, string> = {
  marriage: "婚姻登记处",
  assistance: "社会救助科",
  funeral: "殡葬管理所",
  eldercare: "养老服务科",
  socialorg: "社会组织管理局",
  placename: "地名管理",
  onematter: "一件事服务",
};

const roles: Record<string, string> = {
  citizen: "本人",
  registrar: "婚姻登记员",
  township_clerk: "乡镇经办人",
  county_approver: "县级审批人",
  checking_centre: "核对中心",
  funeral_home: "殡仪馆",
  eldercare_staff: "养老服务人员",
  institution_operator: "养老机构",
  social_org_officer: "社会组织管理员",
  place_name_officer: "地名管理员",
  operator: "运维人员",
  auditor: "审计员",
  service: "业务系统",
  system: "系统任务",
};

const organisations: Record<string, string> = {
  onematter: "一件事联办系统",
  household_register: "公安户籍系统",
  medical_insurance: "医疗保障系统",
  social_insurance: "社会保险系统",
  system: "系统",
};

function roleLabel(role: string): string {
  return role
    .split(",")
    .filter(Boolean)
    .map((r) => roles[r] ?? r)
    .join("、");
}

function row(a: RecordAccess): HTMLElement {
  const [, rpc = a.action] = a.action.split(".");
  return h(
    "tr",
    { "data-service": a.service, "data-action": a.action },
    h("td", {}, time(a.atUnixMs)),
    h("td", {}, services[a.service] ?? a.service),
    h("td", {}, organisations[a.organisation] ?? (a.organisation || "—")),
    h("td", {}, roleLabel(a.role) + (a.onBehalf ? "（代办）" : "")),
    h("td", {}, h("code", {}, rpc)),
    h("td", {}, a.purpose || "—"),
    h("td", {}, a.outcome === "ok" ? "完成" : `被拒绝（${a.outcome}）`),
  );
}

/** The page: every use of the caller's records, newest first. */
export async function myDataPage(app: HTMLElement, signal: AbortSignal): Promise<void> {
  const out = h("div", { "data-testid": "my-data" }, "加载中…");
  replace(
    app,
    h("h1", {}, "我的数据谁用了"),
    h(
      "p",
      { class: "hint" },
      "以下是各部门查阅或变更您的记录的情况（依据《个人信息保护法》第四十四条至第四十八条）。只显示单位和岗位，不显示工作人员个人信息。",
    ),
    out,
  );
  try {
    const r = await audit.listMyRecordAccess({}, { signal });
    if (!r.accesses.length) {
      replace(out, h("p", { class: "hint" }, "暂无记录"));
      return;
    }
    replace(
      out,
      h(
        "table",
        { class: "accesses" },
        h(
          "thead",
          {},
          h("tr", {}, ...["时间", "部门", "单位", "岗位", "操作", "用途", "结果"].map((t) => h("th", {}, t))),
        ),
        h("tbody", {}, ...r.accesses.map(row)),
      ),
      r.truncated ? h("p", { class: "hint" }, "记录较多，仅显示最近的部分。") : null,
    );
  } catch (e) {
    if (!signal.aborted) replace(out, h("p", { class: "msg error", role: "alert" }, explain(e)));
  }
}
