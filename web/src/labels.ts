// Chinese labels for what the API returns. Unknown names (a step a newer plan adds) are shown
// as the API names them, never hidden.

import { CaseState, MatterKind, StepState, ApplicantEvidence } from "./gen/civil/onematter/v1/onematter_pb";

export const caseStates: Record<CaseState, string> = {
  [CaseState.UNSPECIFIED]: "未知",
  [CaseState.RUNNING]: "办理中",
  [CaseState.PARKED]: "待人工处理",
  [CaseState.COMPENSATING]: "撤回中",
  [CaseState.COMPLETED]: "已办结",
  [CaseState.COMPENSATED]: "已撤回",
  [CaseState.CANCELLED]: "已取消",
};

export const stepStates: Record<StepState, string> = {
  [StepState.UNSPECIFIED]: "未知",
  [StepState.BLOCKED]: "等待前序",
  [StepState.READY]: "待办理",
  [StepState.RUNNING]: "办理中",
  [StepState.SUCCEEDED]: "已完成",
  [StepState.FAILED]: "失败",
  [StepState.COMPENSATING]: "撤回中",
  [StepState.COMPENSATED]: "已撤回",
  [StepState.SKIPPED]: "人工办结",
  [StepState.CANCELLED]: "已取消",
};

export const kinds: Record<MatterKind, string> = {
  [MatterKind.UNSPECIFIED]: "未知",
  [MatterKind.AFTER_DEATH]: "身后一件事",
  [MatterKind.MARRIAGE_BIRTH_HOUSEHOLD]: "婚育户一件事",
  [MatterKind.ONE_APPLICATION_MANY_BENEFITS]: "社会救助一件事",
};

export const evidence: Record<ApplicantEvidence, string> = {
  [ApplicantEvidence.UNSPECIFIED]: "未知",
  [ApplicantEvidence.NONE]: "尚无申请人",
  [ApplicantEvidence.OWN_MATTER]: "本人事项",
  [ApplicantEvidence.DEATH_REGISTRATION]: "殡葬登记的申报人",
  [ApplicantEvidence.HOUSEHOLD_REGISTER]: "户籍登记的近亲属",
  [ApplicantEvidence.CLERK]: "窗口核验",
};

/** Step name -> [what it does, the bureau or system that does it]. */
const steps: Record<string, [string, string]> = {
  funeral_death_case: ["死亡登记", "殡葬管理所"],
  funeral_disposal: ["火化/安葬", "殡仪馆"],
  funeral_fee_waiver: ["基本殡葬服务费减免", "殡葬管理所"],
  assistance_terminate: ["终止社会救助", "社会救助科"],
  eldercare_stop: ["停发高龄津贴", "养老服务科"],
  marriage_record_death: ["婚姻状况变更（丧偶）", "婚姻登记处"],
  socialorg_representatives: ["社会组织负责人变更", "社会组织管理局"],
  household_deregistration: ["户口注销", "公安户籍"],
  family_id_card: ["交回逝者居民身份证（补件）", "家属"],
  pension_stop: ["停发养老金", "社会保险"],
  medical_insurance_end: ["终止医保参保", "医疗保障"],
  marriage_verify: ["核验婚姻登记", "婚姻登记处"],
  assistance_household_check: ["救助家庭核查", "社会救助科"],
  household_register_update: ["户籍婚姻状况更新", "公安户籍"],
  birth_service_registration: ["生育服务登记", "卫生健康"],
  assistance_application: ["救助申请", "社会救助科"],
  assistance_decision: ["救助审批", "社会救助科"],
  medical_assistance: ["医疗救助", "医疗保障"],
};

/** What a step that waits on someone outside the plan waits for (shown instead of "待办理"). */
const waits: Record<string, string> = {
  funeral_disposal: "等待殡仪馆火化并出具火化证明（土葬的，等待记录安葬）；户口注销随后办理",
  family_id_card: "等待家属交回逝者的居民身份证：请在“待我补件”中答复",
};

/** A step waiting without a failure: it ran, found it must wait, and is looked at again later
 *  (or woken at once, e.g. by the funeral home's cremation). */
export function waiting(s: { state: StepState; nextAttemptAtMs: bigint; lastError: string }): boolean {
  return s.state === StepState.READY && s.nextAttemptAtMs > 0n && !s.lastError;
}

export function waitingFor(name: string): string {
  return waits[name] ?? "等待外部办理结果";
}

export function stepLabel(name: string): string {
  return steps[name]?.[0] ?? name;
}

export function bureau(name: string): string {
  return steps[name]?.[1] ?? "—";
}

const updates: Record<string, string> = {
  case_started: "事项已受理",
  case_joined: "家属已加入",
  death_registered: "殡葬登记已录入",
  step_started: "开始办理",
  step_retry: "重试",
  step_retry_requested: "工作人员要求重试",
  step_waiting: "等待中",
  step_succeeded: "已完成",
  step_failed: "失败",
  step_completed_by_hand: "工作人员人工办结",
  step_compensated: "已撤回",
  case_parked: "转人工处理",
  case_resumed: "工作人员恢复办理",
  case_compensating: "开始撤回",
  case_completed: "全部办结",
  case_compensated: "已撤回",
  case_cancelled: "已取消",
  case_running: "继续办理",
  case_forked: "已从某一步重办为新事项",
  family_answered: "家属已答复补件",
};

export function updateLabel(kind: string): string {
  return updates[kind] ?? kind;
}

export function time(ms: bigint | number): string {
  const n = Number(ms);
  // 0: not applicable; past the last date a Date holds: "until answered" (a 补件 wait).
  if (!n || n > 8.64e15) return "—";
  return new Date(n).toLocaleString("zh-CN", { hour12: false });
}
