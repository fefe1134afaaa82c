// The operator: a case parked by an outside refusal is found among the parked cases, retried
// from the console and seen to complete.

import { test, expect } from "@playwright/test";
import { PARKED, PARKED_FOR_BATCH, registerDeath, shots, signIn, token } from "./suite";

test("an operator finds a parked case, retries the failed step and sees it complete", async ({ page }) => {
  await registerDeath(PARKED, false);
  await signIn(page, token("operator", "operator-zhao"));
  await expect(page).toHaveURL(/#\/console$/);
  await page.getByRole("link", { name: "待人工处理" }).click();
  await expect(page).toHaveURL(/#\/console\/parked$/);

  // The case parks once its refused step has run: search again until it is listed.
  const parked = page.getByTestId("console-cases").locator('li[data-state="PARKED"]');
  await expect(async () => {
    await page.getByRole("button", { name: "查询", exact: true }).click();
    await expect(parked).toHaveCount(1, { timeout: 1_000 });
  }).toPass({ timeout: 60_000 });
  await expect(parked).toContainText("pension_stop");
  await page.screenshot({ path: `${shots}/console.png`, fullPage: true });

  await parked.getByRole("link").click();
  await expect(page.getByTestId("case-state")).toHaveAttribute("data-state", "PARKED");
  await expect(page.getByTestId("case-reason")).toContainText("SOCIAL_INSURANCE_OVERPAID");
  await expect(page.getByTestId("trace-id")).toHaveText(/^[0-9a-f]{32}$/);
  await expect(page.locator('li[data-step="pension_stop"]')).toHaveAttribute("data-state", "FAILED");
  await page.screenshot({ path: `${shots}/console-case.png`, fullPage: true });

  await page.getByTestId("retry-pension_stop").click();
  await expect(page.getByTestId("action-result")).toContainText("已重新发起");
  await expect(page.getByTestId("case-state")).toHaveAttribute("data-state", "COMPLETED", { timeout: 60_000 });
  await expect(page.locator('li[data-step="pension_stop"]')).toHaveAttribute("data-state", "SUCCEEDED");
  await expect(page.getByTestId("timeline")).toContainText("工作人员要求重试");

  // Gone from the parked list.
  await page.goto("/#/console/parked");
  await expect(page.getByTestId("console-cases")).toContainText("没有符合条件的事项");
});

test("an operator retries every case a search selects in one batch", async ({ page }) => {
  await registerDeath(PARKED_FOR_BATCH, false);
  await signIn(page, token("operator", "operator-qian"));
  await page.getByRole("link", { name: "待人工处理" }).click();
  const search = page.getByTestId("search");
  await search.getByLabel("步骤", { exact: true }).selectOption("pension_stop");
  await search.getByLabel("步骤状态").selectOption({ label: "失败" });
  const parked = page.getByTestId("console-cases").locator('li[data-state="PARKED"]');
  await expect(async () => {
    await search.getByRole("button", { name: "查询", exact: true }).click();
    await expect(parked).toHaveCount(1, { timeout: 1_000 });
  }).toPass({ timeout: 60_000 });

  page.once("dialog", (d) => void d.accept());
  const batch = page.getByTestId("batch");
  await batch.getByLabel("操作").selectOption({ label: "重试失败步骤" });
  await batch.getByRole("button", { name: "对全部查询结果执行" }).click();
  await expect(page.getByTestId("batch-result")).toContainText("已处理 1 件");
  // The retried case completes and leaves the parked list.
  await expect(async () => {
    await search.getByRole("button", { name: "查询", exact: true }).click();
    await expect(page.getByTestId("console-cases")).toContainText("没有符合条件的事项", { timeout: 1_000 });
  }).toPass({ timeout: 60_000 });
});
