// The Web issue's operator tools and the family's 补件 in the browser: what waits for me (and the
// form to answer it), fork from a step, plan versions, overdue 补件 and the trace viewer link.
// Kept apart from main.ts, which calls the few functions exported here.

import {
  CaseState,
  FamilyRequestState,
  MatterKind,
  StepState,
  type Case,
  type FamilyRequest,
} from "./gen/civil/onematter/v1/onematter_pb";
import { onematter, explain, requestId } from "./api";
import { claims, hasRole } from "./session";
import { h, replace, formValues, select } from "./dom";
import * as L from "./labels";

function note(text: string, kind: "error" | "ok" = "error"): HTMLElement {
  return h("p", { class: `msg ${kind}`, role: kind === "error" ? "alert" : "status" }, text);
}

function dueText(r: FamilyRequest): string {
  const d = r.dueDate;
  return d ? `${d.year}-${String(d.month).padStart(2, "0")}-${String(d.day).padStart(2, "0")}` : "—";
}

/** The trace viewer (Jaeger) the case's trace id links to; a county sets its own address with
 *  `localStorage["civil.traceViewer"]`. */
export function traceLink(traceId: string): HTMLElement {
  if (!traceId) return h("code", { "data-testid": "trace-id" }, "—");
  const viewer = localStorage.getItem("civil.traceViewer") ?? "http://127.0.0.1:16686";
  return h(
    "a",
    {
      href: `${viewer.replace(/\/$/, "")}/trace/${traceId}`,
      target: "_blank",
      rel: "noopener",
      "data-testid": "trace-id",
      title: "在链路追踪（Jaeger）中查看本事项经过的每个服务",
    },
    h("code", {}, traceId),
  );
}

/** Under the case's facts: its plan version and forks (both directions); for the family, what
 *  waits for them (补件) with the form to answer; for an operator, fork from a step. */
export function caseExtras(c: Case, box: HTMLElement, refresh: () => Promise<unknown>): void {
  // Rendered again only when the case moved in a way shown here (a form being filled stays).
  const key = [c.state, c.forks.join(), ...c.steps.map((s) => `${s.name}:${s.state}:${s.summary}`)].join("|");
  if (box.dataset.key === key) return;
  box.dataset.key = key;
  const parts: HTMLElement[] = [];
  const links: (HTMLElement | string)[] = [`流程版本 v${c.planVersion}`];
  if (c.forkedFrom) {
    links.push(" · 由 ", h("a", { href: `#/case/${c.forkedFrom.slice(6)}`, "data-testid": "forked-from" }, c.forkedFrom), ` 自「${L.stepLabel(c.forkStep)}」重办`);
  }
  for (const f of c.forks) links.push(" · 已重办为 ", h("a", { href: `#/case/${f.slice(6)}`, "data-testid": "fork-link" }, f));
  parts.push(h("p", { class: "hint", "data-testid": "plan-version" }, ...links));
  if (hasRole("citizen")) parts.push(waitingForMe(c, refresh));
  if (hasRole("operator") && (c.state === CaseState.PARKED || c.state === CaseState.COMPLETED || c.state === CaseState.CANCELLED)) {
    parts.push(forkForm(c));
  }
  replace(box, ...parts);
}

/** 待我补件: the family's open requests on this case, each with a form to answer. */
function waitingForMe(c: Case, refresh: () => Promise<unknown>): HTMLElement {
  const box = h("section", { class: "card", "data-testid": "family-requests" }, h("h2", {}, "待我补件"), "加载中…");
  void (async () => {
    try {
      const { requests } = await onematter.listFamilyRequests({ case: c.name });
      const open = requests.filter((r) => r.state === FamilyRequestState.OPEN);
      const answered = requests.filter((r) => r.state === FamilyRequestState.ANSWERED);
      replace(
        box,
        h("h2", {}, "待我补件"),
        open.length ? null : h("p", { class: "hint" }, "目前没有需要您补充的材料"),
        ...open.map((r) => answerForm(r, box, refresh)),
        ...answered.map((r) => h("p", { class: "hint", "data-request": r.step }, `已答复：${r.what}（${L.time(r.answeredAtMs)}）`)),
      );
    } catch (e) {
      replace(box, h("h2", {}, "待我补件"), note(explain(e)));
    }
  })();
  return box;
}

function answerForm(r: FamilyRequest, box: HTMLElement, refresh: () => Promise<unknown>): HTMLElement {
  const out = h("div");
  const form = h(
    "form",
    { class: "request", "data-request": r.step },
    h("p", {}, h("strong", {}, r.what)),
    h("p", { class: r.overdue ? "reason" : "hint" }, `请于 ${dueText(r)} 前答复${r.overdue ? "（已超期）" : ""}`),
    h("label", { class: "field" }, h("span", {}, "答复或材料说明"), h("textarea", { name: "answer", rows: 3, required: true, maxlength: 2000 })),
    h("button", { type: "submit" }, "提交答复"),
    out,
  ) as HTMLFormElement;
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const button = form.querySelector("button") as HTMLButtonElement;
    button.disabled = true;
    try {
      await onematter.answerFamilyRequest({ requestId: requestId(), name: r.name, answer: formValues(form).answer });
      replace(box, h("h2", {}, "待我补件"), note("已提交答复，相关部门将继续办理", "ok"));
      await refresh();
    } catch (err) {
      replace(out, note(explain(err)));
      button.disabled = false;
    }
  });
  return form;
}

/** Fork: rerun the case from a step as a new case that reuses what came before it. */
function forkForm(c: Case): HTMLElement {
  const out = h("div", { "data-testid": "fork-result" });
  const options: [string, string][] = c.steps.map((s) => [s.name, `${L.stepLabel(s.name)}${s.state === StepState.FAILED ? "（失败）" : ""}`]);
  const form = h(
    "form",
    { class: "card", "data-testid": "fork" },
    h("h3", {}, "从某一步重办（新建关联事项）"),
    h("p", { class: "hint" }, "之前各步的办理结果直接沿用，所选步骤及依赖它的步骤重新办理。待人工处理的原事项将关闭。"),
    select("从此步骤重办", "step", options),
    h("button", { type: "submit" }, "重办"),
    out,
  ) as HTMLFormElement;
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      const fork = await onematter.forkCase({ requestId: requestId(), name: c.name, step: formValues(form).step });
      location.hash = `#/case/${fork.name.slice(6)}`;
    } catch (err) {
      replace(out, note(explain(err)));
    }
  });
  return form;
}

/** The console's extra sections: families' open 补件 (overdue first) and the plan versions. */
export function consoleTools(): HTMLElement[] {
  return [familyRequestsSection(), planVersionsSection()];
}

function familyRequestsSection(): HTMLElement {
  const list = h("div", {}, "加载中…");
  const section = h("section", { class: "card", "data-testid": "console-requests" }, h("h2", {}, "待家属补件"), list);
  void (async () => {
    try {
      const { requests } = await onematter.listFamilyRequests({ openOnly: true });
      const sorted = [...requests].sort((a, b) => Number(b.overdue) - Number(a.overdue));
      replace(
        list,
        sorted.length
          ? h(
              "ul",
              { class: "cases" },
              ...sorted.map((r) =>
                h(
                  "li",
                  { "data-overdue": String(r.overdue) },
                  h("a", { href: `#/case/${r.case.slice(6)}` }, r.what),
                  h("span", { class: r.overdue ? "state s-PARKED" : "state" }, r.overdue ? "已超期" : "等待中"),
                  h("small", {}, `${r.region} · 截止 ${dueText(r)} · ${L.stepLabel(r.step)}`),
                ),
              ),
            )
          : h("p", { class: "hint" }, "没有待家属补件的事项"),
      );
    } catch (e) {
      replace(list, note(explain(e)));
    }
  })();
  return section;
}

function planVersionsSection(): HTMLElement {
  const body = h("div", {}, "加载中…");
  const section = h("section", { class: "card", "data-testid": "plan-versions" }, h("h2", {}, "流程版本（身后一件事）"), body);
  const county = (claims()?.region ?? "").length === 6;
  const show = async (publish?: number) => {
    try {
      const r = publish
        ? await onematter.publishPlanVersion({ requestId: requestId(), kind: MatterKind.AFTER_DEATH, version: publish })
        : await onematter.listPlanVersions({ kind: MatterKind.AFTER_DEATH });
      replace(
        body,
        h("p", { class: "hint" }, "进行中的事项按其受理时的版本办结；新发布的版本只适用于之后受理的事项。"),
        h(
          "ul",
          { class: "cases" },
          ...r.versions.map((v) =>
            h(
              "li",
              { "data-version": String(v.version), "data-current": String(v.current) },
              h("strong", {}, `v${v.version}`),
              h("span", { class: "state" }, v.current ? "新事项采用" : v.publishedAtMs ? "已发布" : "未发布"),
              h("small", {}, v.steps.map(L.stepLabel).join(" → ")),
              v.publishedAtMs ? h("small", {}, `发布于 ${L.time(v.publishedAtMs)} · ${v.publishedBy}`) : null,
              !v.current && county
                ? h("button", { type: "button", "data-testid": `publish-v${v.version}`, onclick: () => void show(v.version) }, `发布 v${v.version}`)
                : null,
            ),
          ),
        ),
      );
    } catch (e) {
      replace(body, note(explain(e)));
    }
  };
  void show();
  return section;
}
