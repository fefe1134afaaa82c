// 一件事 in the browser: the citizen portal, the operator console and the auditor page.
// One page, hash routes (#/portal, #/case/{id}, #/console, #/audit): the server serves one file.

import "./style.css";
import { create } from "@bufbuild/protobuf";
import {
  BatchAction,
  CaseState,
  MatterKind,
  StepState,
  type Case,
  type CaseUpdate,
  type Step,
} from "./gen/civil/onematter/v1/onematter_pb";
import { CauseClass, CertificateIssuer, Ethnicity } from "./gen/civil/funeral/v1/funeral_pb";
import { DateSchema, PersonRefSchema } from "./gen/civil/common/v1/common_pb";
import { onematter, explain, requestId } from "./api";
import { claims, hasRole, setToken, token } from "./session";
import { h, replace, field, select, formValues, append } from "./dom";
import * as L from "./labels";
import { auditSource } from "./audit";
import { caseExtras, consoleTools, traceLink } from "./tools";
import { myDataPage } from "./mydata";

const app = document.getElementById("app") as HTMLElement;
const nav = document.getElementById("nav") as HTMLElement;

/** Aborted when the route changes: stops a page's live stream. */
let leaving = new AbortController();

const FINAL = new Set([CaseState.COMPLETED, CaseState.COMPENSATED, CaseState.CANCELLED]);

function route(): void {
  leaving.abort();
  leaving = new AbortController();
  const [, page = "", arg = ""] = location.hash.split("/");
  renderNav();
  if (!token() && page !== "audit") return login();
  switch (page) {
    case "portal":
      return void portal();
    case "case":
      return void casePage(decodeURIComponent(arg));
    case "console":
      return void consolePage(arg === "parked");
    case "audit":
      return void auditPage();
    case "mydata":
      return void myDataPage(app, leaving.signal);
    default:
      return login();
  }
}

function renderNav(): void {
  const c = claims();
  const links: HTMLElement[] = [];
  if (c?.roles.includes("citizen")) links.push(h("a", { href: "#/portal" }, "我的事项"));
  if (c?.roles.includes("citizen")) links.push(h("a", { href: "#/mydata" }, "我的数据谁用了"));
  if (c?.roles.includes("operator")) {
    links.push(h("a", { href: "#/console" }, "案件列表"));
    links.push(h("a", { href: "#/console/parked" }, "待人工处理"));
  }
  if (c?.roles.includes("auditor")) links.push(h("a", { href: "#/audit" }, "审计"));
  links.push(
    c
      ? h("a", { href: "#/", onclick: () => setToken(""), "data-testid": "logout" }, `退出（${c.name || c.sub}）`)
      : h("a", { href: "#/" }, "登录"),
  );
  replace(nav, ...links);
}

function message(text: string, kind: "error" | "ok" = "error"): HTMLElement {
  return h("p", { class: `msg ${kind}`, role: kind === "error" ? "alert" : "status" }, text);
}

// ------------------------------------------------------------------------------------- login

function login(): void {
  const form = h(
    "form",
    { class: "card" },
    h("h1", {}, "登录"),
    h(
      "p",
      { class: "hint" },
      "请粘贴统一身份认证签发的令牌。开发环境可用 ",
      h("code", {}, "civil token --role citizen --region 330723"),
      " 生成。",
    ),
    h("label", { class: "field" }, h("span", {}, "令牌"), h("textarea", { name: "token", rows: 4, required: true })),
    h("button", { type: "submit" }, "进入"),
  ) as HTMLFormElement;
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    setToken(formValues(form).token);
    const c = claims();
    if (!c) {
      setToken("");
      append(form, [message("令牌格式不正确")]);
      return;
    }
    location.hash = c.roles.includes("operator")
      ? "#/console"
      : c.roles.includes("auditor")
        ? "#/audit"
        : "#/portal";
  });
  replace(app, form);
}

// ------------------------------------------------------------------------------------ portal

async function portal(): Promise<void> {
  const list = h("div", { "data-testid": "my-cases" }, "加载中…");
  replace(app, h("h1", {}, "我的事项"), list, startForm());
  try {
    const { cases } = await onematter.listCases({ pageSize: 50 }, { signal: leaving.signal });
    replace(list, cases.length ? caseTable(cases) : h("p", { class: "hint" }, "暂无事项"));
  } catch (e) {
    replace(list, message(explain(e)));
  }
}

/** 身后一件事: the family's application (or joining the case a death registration started). */
function startForm(): HTMLElement {
  const out = h("div");
  const form = h(
    "form",
    { class: "card", "data-testid": "start-after-death" },
    h("h2", {}, "申请身后一件事"),
    h("p", { class: "hint" }, "亲属去世后，一次申请即可办理殡葬、救助、养老、婚姻、户籍、社保、医保等事项。若殡葬登记时已自动受理，提交后即加入该事项。"),
    h("fieldset", {}, h("legend", {}, "逝者"),
      field("姓名", "deceasedName", { required: true, autocomplete: "off" }),
      field("公民身份号码", "deceasedId", { required: true, autocomplete: "off", inputmode: "text", maxlength: 18 }),
      field("死亡日期", "dateOfDeath", { type: "date", required: true }),
      field("死亡地点", "placeOfDeath", { required: true }),
      select("死亡证明", "issuer", [[String(CertificateIssuer.MEDICAL), "医学死亡证明（医疗机构）"], [String(CertificateIssuer.POLICE), "公安机关出具"]]),
      field("证明编号", "certificate", { required: true, autocomplete: "off" }),
      select("死亡原因", "cause", [[String(CauseClass.DISEASE), "疾病"], [String(CauseClass.INJURY), "伤害"], [String(CauseClass.UNKNOWN), "不详"]]),
      field("户籍地区划代码（12位）", "region", { required: true, inputmode: "numeric", maxlength: 12 }),
    ),
    h("fieldset", {}, h("legend", {}, "申报人（本人）"),
      field("姓名", "declarantName", { required: true, autocomplete: "name" }),
      field("公民身份号码", "declarantId", { required: true, autocomplete: "off", maxlength: 18 }),
      select("与逝者关系", "relationship", [["child", "子女"], ["spouse", "配偶"], ["parent", "父母"], ["sibling", "兄弟姐妹"], ["grandchild", "孙子女、外孙子女"]]),
    ),
    h("button", { type: "submit" }, "提交申请"),
    out,
  ) as HTMLFormElement;
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const v = formValues(form);
    const [y, m, d] = v.dateOfDeath.split("-").map(Number);
    const button = form.querySelector("button") as HTMLButtonElement;
    button.disabled = true;
    try {
      const c = await onematter.startCase({
        requestId: requestId(),
        kind: MatterKind.AFTER_DEATH,
        declarant: create(PersonRefSchema, { idNumber: v.declarantId, name: v.declarantName }),
        declarantRelationship: v.relationship,
        region: v.region,
        afterDeath: {
          deceased: create(PersonRefSchema, { idNumber: v.deceasedId, name: v.deceasedName }),
          certificate: {
            issuer: Number(v.issuer),
            number: v.certificate,
            dateOfDeath: create(DateSchema, { year: y, month: m, day: d }),
            placeOfDeath: v.placeOfDeath,
            causeClass: Number(v.cause),
          },
          ethnicity: Ethnicity.HAN,
        },
      });
      location.hash = `#/case/${caseId(c.name)}`;
    } catch (err) {
      replace(out, message(explain(err)));
    } finally {
      button.disabled = false;
    }
  });
  return form;
}

function caseId(name: string): string {
  return name.replace(/^cases\//, "");
}

function caseTable(cases: Case[]): HTMLElement {
  return h(
    "ul",
    { class: "cases" },
    ...cases.map((c) =>
      h(
        "li",
        { "data-state": CaseState[c.state] },
        h("a", { href: `#/case/${caseId(c.name)}` }, L.kinds[c.kind] ?? "事项", " · ", c.subject?.name || `…${caseId(c.name).slice(-12)}`),
        h("span", { class: `state s-${CaseState[c.state]}` }, L.caseStates[c.state]),
        h("small", {}, `${c.region} · 更新于 ${L.time(c.updatedAtMs)}`),
        c.reason ? h("small", { class: "reason" }, c.reason) : null,
      ),
    ),
  );
}

// -------------------------------------------------------------------------------------- case

async function casePage(id: string): Promise<void> {
  const name = `cases/${id}`;
  const head = h("div");
  const stepsBox = h("div");
  const extras = h("div");
  const timeline = h("ol", { class: "timeline", "data-testid": "timeline" });
  const actions = h("div");
  // What the operator's last action answered: kept when the actions change with the case.
  const result = h("div", { "data-testid": "action-result" });
  replace(app, head, extras, stepsBox, actions, result, h("h2", {}, "办理动态"), timeline);
  const signal = leaving.signal;

  const refresh = async (): Promise<Case | null> => {
    try {
      const c = await onematter.getCase({ name }, { signal });
      renderCase(c, head, stepsBox);
      caseExtras(c, extras, refresh);
      if (hasRole("operator")) renderActions(c, actions, result, refresh);
      return c;
    } catch (e) {
      if (signal.aborted) return null;
      replace(head, message(explain(e)));
      return null;
    }
  };
  const first = await refresh();
  if (!first) return;
  // Live: every update of the case, from the first; the stream ends once the case is final.
  // An operator's action can reopen a finished case, so a final case is read again on action.
  try {
    for await (const u of onematter.watchCase({ name, afterSeq: 0n }, { signal })) {
      timeline.prepend(updateItem(u));
      await refresh();
    }
  } catch (e) {
    if (!signal.aborted) append(timeline, [message(`实时更新中断：${explain(e)}`)]);
  }
}

function renderCase(c: Case, head: HTMLElement, stepsBox: HTMLElement): void {
  const done = c.steps.filter((s) => s.state === StepState.SUCCEEDED || s.state === StepState.SKIPPED).length;
  replace(
    head,
    h("h1", {}, L.kinds[c.kind] ?? "事项", c.subject?.name ? ` · ${c.subject.name}` : ""),
    h(
      "dl",
      { class: "facts" },
      h("dt", {}, "状态"),
      h("dd", { "data-testid": "case-state", "data-state": CaseState[c.state] }, L.caseStates[c.state]),
      h("dt", {}, "进度"),
      h("dd", {}, `${done} / ${c.steps.length} 项已完成`),
      h("dt", {}, "事项编号"),
      h("dd", {}, h("code", {}, c.name)),
      h("dt", {}, "逝者 / 当事人"),
      h("dd", {}, `${c.subject?.name ?? ""} ${c.subject?.idNumber ?? ""}`),
      h("dt", {}, "申报人"),
      h("dd", {}, `${c.declarant?.name ?? ""} ${c.declarant?.idNumber ?? ""}`),
      h("dt", {}, "申请依据"),
      h("dd", {}, L.evidence[c.applicantEvidence] ?? ""),
      h("dt", {}, "受理"),
      h("dd", {}, `${L.time(c.createdAtMs)}（${c.origin === "application" ? "家属申请" : "免申即享：" + c.origin}）`),
      c.reason ? h("dt", {}, "说明") : null,
      c.reason ? h("dd", { class: "reason", "data-testid": "case-reason" }, c.reason) : null,
      c.undoByHand.length ? h("dt", {}, "需人工撤回") : null,
      c.undoByHand.length ? h("dd", {}, c.undoByHand.map(L.stepLabel).join("、")) : null,
      hasRole("operator") ? h("dt", {}, "链路追踪 ID") : null,
      hasRole("operator")
        ? h("dd", {}, traceLink(c.traceId))
        : null,
    ),
  );
  replace(
    stepsBox,
    h("h2", {}, "各部门办理情况"),
    h(
      "ol",
      { class: "steps", "data-testid": "steps" },
      ...c.steps.map((s) => stepItem(s)),
    ),
  );
}

function stepItem(s: Step): HTMLElement {
  // A step waiting on someone outside the plan (the funeral home's cremation) is not a failure:
  // it says what it waits for, and when it is looked at again if nothing wakes it first.
  const waiting = L.waiting(s);
  return h(
    "li",
    {
      "data-step": s.name,
      "data-state": StepState[s.state],
      ...(waiting ? { "data-waiting": "true" } : {}),
      class: `step s-${waiting ? "WAITING" : StepState[s.state]}`,
    },
    h("div", { class: "row" }, h("strong", {}, L.stepLabel(s.name)), h("span", { class: "state" }, waiting ? "等待中" : L.stepStates[s.state])),
    h("small", {}, `${L.bureau(s.name)} · 开始 ${L.time(s.startedAtMs)} · 完成 ${L.time(s.finishedAtMs)}`),
    waiting ? h("p", { class: "wait", "data-testid": `waiting-${s.name}` }, L.waitingFor(s.name)) : null,
    s.summary ? h("p", { class: "summary" }, s.summary) : null,
    s.lastError && s.state !== StepState.SUCCEEDED ? h("p", { class: "reason" }, `最近一次失败：${s.lastError}（第 ${s.attempts}/${s.maxAttempts} 次）`) : null,
    s.nextAttemptAtMs && s.state === StepState.READY
      ? h("small", {}, `${waiting ? "下次核查" : "下次尝试"} ${L.time(s.nextAttemptAtMs)}`)
      : null,
  );
}

function updateItem(u: CaseUpdate): HTMLElement {
  return h(
    "li",
    { "data-kind": u.kind },
    h("time", {}, L.time(u.atMs)),
    " ",
    h("strong", {}, L.updateLabel(u.kind)),
    u.step ? ` · ${L.stepLabel(u.step)}` : "",
    u.message ? h("small", {}, u.message) : null,
  );
}

// -------------------------------------------------------------------- operator: case actions

function renderActions(c: Case, box: HTMLElement, out: HTMLElement, refresh: () => Promise<Case | null>): void {
  const run = async (what: () => Promise<unknown>, done: string) => {
    replace(out, "处理中…");
    try {
      await what();
      replace(out, message(done, "ok"));
      await refresh();
    } catch (e) {
      replace(out, message(explain(e)));
    }
  };
  if (FINAL.has(c.state)) {
    replace(box);
    return;
  }
  const retryable = c.steps.filter(
    (s) => s.state === StepState.FAILED || (s.state === StepState.READY && s.nextAttemptAtMs > 0n),
  );
  const parts: HTMLElement[] = [h("h2", {}, "工作人员操作")];
  if (retryable.length) {
    parts.push(
      h(
        "div",
        { class: "card" },
        h("h3", {}, "重试失败的步骤"),
        ...retryable.map((s) =>
          h(
            "button",
            {
              type: "button",
              "data-testid": `retry-${s.name}`,
              onclick: () =>
                run(() => onematter.retryStep({ requestId: requestId(), name: c.name, step: s.name }), `已重新发起：${L.stepLabel(s.name)}`),
            },
            `重试：${L.stepLabel(s.name)}`,
          ),
        ),
      ),
    );
  }
  if (c.state === CaseState.PARKED) {
    const failed = c.steps.filter((s) => s.state === StepState.FAILED);
    const resume = h(
      "form",
      { class: "card", "data-testid": "resume" },
      h("h3", {}, "恢复办理"),
      h("p", { class: "hint" }, "失败步骤将重新办理；勾选的步骤视为已在系统外办结。"),
      ...failed.map((s) => h("label", { class: "check" }, h("input", { type: "checkbox", name: "byHand", value: s.name }), `已人工办结：${L.stepLabel(s.name)}`)),
      field("处理说明", "note", { required: true }),
      h("button", { type: "submit" }, "恢复办理"),
    ) as HTMLFormElement;
    resume.addEventListener("submit", (e) => {
      e.preventDefault();
      const byHand = [...resume.querySelectorAll<HTMLInputElement>("input[name=byHand]:checked")].map((i) => i.value);
      run(
        () => onematter.resumeCase({ requestId: requestId(), name: c.name, note: formValues(resume).note, completedByHand: byHand }),
        "已恢复办理",
      );
    });
    parts.push(resume);
  }
  if (c.state !== CaseState.COMPENSATING) {
    const cancel = h(
      "form",
      { class: "card danger", "data-testid": "cancel" },
      h("h3", {}, "取消事项"),
      h("p", { class: "hint" }, "未办的步骤不再办理；已办且可撤回的步骤将依次撤回。"),
      field("取消原因", "reason", { required: true }),
      h("button", { type: "submit" }, "取消事项"),
    ) as HTMLFormElement;
    cancel.addEventListener("submit", (e) => {
      e.preventDefault();
      if (!confirm("确定取消此事项？")) return;
      run(() => onematter.cancelCase({ requestId: requestId(), name: c.name, reason: formValues(cancel).reason }), "已取消");
    });
    parts.push(cancel);
  }
  replace(box, ...parts);
}

// --------------------------------------------------------------------------- operator console

async function consolePage(parked: boolean): Promise<void> {
  const out = h("div", { "data-testid": "console-cases" }, "加载中…");
  const stateOptions: [string, string][] = [
    ["", "全部状态"],
    ...[CaseState.RUNNING, CaseState.PARKED, CaseState.COMPENSATING, CaseState.COMPLETED, CaseState.COMPENSATED, CaseState.CANCELLED].map(
      (s): [string, string] => [String(s), L.caseStates[s]],
    ),
  ];
  const kindOptions: [string, string][] = [
    ["", "全部事项"],
    ...[MatterKind.AFTER_DEATH, MatterKind.MARRIAGE_BIRTH_HOUSEHOLD, MatterKind.ONE_APPLICATION_MANY_BENEFITS].map(
      (k): [string, string] => [String(k), L.kinds[k]],
    ),
  ];
  // The search: SearchCases (matter, state, a step in a state, township, creation dates,
  // overdue). No identity number or name is asked for: a person is found through the case.
  const stepOptions: [string, string][] = [
    ["", "任意步骤"],
    ...["funeral_death_case", "funeral_disposal", "funeral_fee_waiver", "assistance_terminate", "eldercare_stop", "marriage_record_death", "socialorg_representatives", "household_deregistration", "pension_stop", "medical_insurance_end"].map(
      (n): [string, string] => [n, L.stepLabel(n)],
    ),
  ];
  const stepStateOptions: [string, string][] = [
    ["", "任意状态"],
    ...[StepState.FAILED, StepState.READY, StepState.RUNNING, StepState.SUCCEEDED, StepState.SKIPPED].map(
      (s): [string, string] => [String(s), L.stepStates[s]],
    ),
  ];
  const form = h(
    "form",
    { class: "card filters", "data-testid": "search" },
    select("状态", "state", stateOptions, parked ? String(CaseState.PARKED) : ""),
    select("事项", "kind", kindOptions),
    field("乡镇/村区划代码", "region", { placeholder: claims()?.region ?? "", inputmode: "numeric", maxlength: 12 }),
    select("步骤", "step", stepOptions),
    select("步骤状态", "stepState", stepStateOptions),
    field("受理日期起", "from", { type: "date" }),
    field("受理日期止", "to", { type: "date" }),
    h("label", { class: "check" }, h("input", { type: "checkbox", name: "overdue", value: "1" }), "仅超期"),
    h("button", { type: "submit" }, "查询"),
  ) as HTMLFormElement;
  let pageToken = "";
  const more = h("button", { type: "button", class: "more", hidden: true }, "下一页");
  const load = async (append_: boolean) => {
    const v = formValues(form);
    try {
      const r = await onematter.searchCases(
        { ...searchOf(v), pageSize: 50, pageToken: append_ ? pageToken : "" },
        { signal: leaving.signal },
      );
      pageToken = r.nextPageToken;
      more.hidden = !pageToken;
      const table = caseTable(r.cases);
      if (append_ && out.firstElementChild?.tagName === "UL") append(out.firstElementChild, [...table.childNodes]);
      else replace(out, r.cases.length ? table : h("p", { class: "hint" }, "没有符合条件的事项"));
    } catch (e) {
      replace(out, message(explain(e)));
    }
  };
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    void load(false);
  });
  more.addEventListener("click", () => void load(true));
  // A batch over everything the search selects (not only the page shown), each case audited.
  const batchOut = h("div", { "data-testid": "batch-result" });
  const batch = h(
    "form",
    { class: "card danger", "data-testid": "batch" },
    h("h3", {}, "批量处理查询结果"),
    select("操作", "action", [
      [String(BatchAction.RETRY_FAILED_STEPS), "重试失败步骤"],
      [String(BatchAction.RESUME), "恢复办理"],
      [String(BatchAction.CANCEL), "取消事项"],
    ]),
    field("说明（恢复、取消必填）", "note"),
    h("button", { type: "submit" }, "对全部查询结果执行"),
    batchOut,
  ) as HTMLFormElement;
  batch.addEventListener("submit", async (e) => {
    e.preventDefault();
    const b = formValues(batch);
    if (!confirm("确定对全部查询结果执行此操作？")) return;
    replace(batchOut, "处理中…");
    try {
      const r = await onematter.batchOperateCases({
        requestId: requestId(),
        search: searchOf(formValues(form)),
        action: Number(b.action),
        note: b.note,
      });
      const skipped = r.outcomes.filter((o) => !o.applied);
      const why = [...new Set(skipped.map((o) => o.reason))].join("、");
      replace(batchOut, message(`已处理 ${r.appliedCount} 件${skipped.length ? `，未处理 ${skipped.length} 件（${why}）` : ""}`, "ok"));
      await load(false);
    } catch (err) {
      replace(batchOut, message(explain(err)));
    }
  });
  replace(app, h("h1", {}, parked ? "待人工处理的事项" : "案件列表"), form, out, more, batch, ...consoleTools());
  await load(false);
}

/** The console's search form as a SearchCases request (without its page fields). */
function searchOf(v: Record<string, string>) {
  return {
    state: Number(v.state || 0),
    kind: Number(v.kind || 0),
    region: v.region,
    step: v.step,
    stepState: Number(v.stepState || 0),
    createdFromMs: v.from ? BigInt(dayStart(v.from)) : 0n,
    createdBeforeMs: v.to ? BigInt(dayStart(v.to) + 86_400_000) : 0n,
    overdue: v.overdue === "1",
  };
}

/** Midnight in China (UTC+8) of a YYYY-MM-DD date, in Unix ms. */
function dayStart(date: string): number {
  return Date.parse(`${date}T00:00:00+08:00`);
}

// ----------------------------------------------------------------------------------- auditor

async function auditPage(): Promise<void> {
  const out = h("div", { "data-testid": "audit" });
  replace(app, h("h1", {}, "审计"), out);
  const source = auditSource();
  if (!source.available) {
    replace(
      out,
      h("p", {}, "审计链校验接口尚未开放给浏览器。目前请由审计员在服务器上执行："),
      h("pre", {}, "civil audit-verify <服务名>\ncivil audit-export <服务名> trail.json && civil audit-verify --file trail.json"),
      h("p", { class: "hint" }, "本页面不显示超出接口返回范围的任何个人信息。"),
    );
    return;
  }
  for (const service of source.services) {
    const row = h("p", {}, `${service}：校验中…`);
    out.appendChild(row);
    const r = await source.verify(service);
    replace(row, `${service}：`, r.ok ? "审计链完整" : "审计链异常", ` · ${r.detail}`);
  }
}

window.addEventListener("hashchange", route);
route();
