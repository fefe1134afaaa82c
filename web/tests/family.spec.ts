// 补件 and the operator's tools: the county publishes version 2 of the after-death plan (it asks
// the family for the deceased's ID card); a family applies, sees what waits for them in the
// portal and answers it there; the case then finishes. The operator forks the finished case
// from household deregistration. Runs after the other specs (it publishes v2 for every new case).

import { test, expect } from "@playwright/test";
import { cremate, funeralDeathCase, people, shots, signIn, today, token, VILLAGE } from "./suite";

const FAMILY = 12;

test("a 补件 request is answered from the portal and the case finishes; the operator forks it", async ({ page }) => {
  // The county's operator publishes plan v2: new cases take it.
  await signIn(page, token("operator", "operator-qian"));
  const versions = page.getByTestId("plan-versions");
  await versions.getByTestId("publish-v2").click();
  await expect(versions.locator('li[data-version="2"]')).toHaveAttribute("data-current", "true");
  await expect(versions.locator('li[data-version="1"]')).toHaveAttribute("data-current", "false");
  await page.getByTestId("logout").click();

  // The family applies.
  const p = people(FAMILY);
  await signIn(page, token("citizen", "citizen-zhao-family"));
  const form = page.getByTestId("start-after-death");
  const deceased = form.locator("fieldset").nth(0);
  await deceased.getByLabel("姓名").fill(p.deceased.name);
  await deceased.getByLabel("公民身份号码").fill(p.deceased.idNumber);
  await deceased.getByLabel("死亡日期").fill(today());
  await deceased.getByLabel("死亡地点").fill("县人民医院");
  await deceased.getByLabel("证明编号").fill(`YX-WEB-${String(FAMILY).padStart(4, "0")}`);
  await deceased.getByLabel("户籍地区划代码（12位）").fill(VILLAGE);
  const declarant = form.locator("fieldset").nth(1);
  await declarant.getByLabel("姓名").fill(p.declarant.name);
  await declarant.getByLabel("公民身份号码").fill(p.declarant.idNumber);
  await declarant.getByLabel("与逝者关系").selectOption("child");
  await form.getByRole("button", { name: "提交申请" }).click();
  await expect(page).toHaveURL(/#\/case\//);
  const caseUrl = page.url();
  await expect(page.getByTestId("plan-version")).toContainText("v2");
  await expect(page.getByTestId("steps").locator("li")).toHaveCount(11);

  // What waits for me: the ID card, due in working days; the deregistration waits for it.
  const card = page.locator('li[data-step="family_id_card"]');
  await expect(card).toHaveAttribute("data-waiting", "true", { timeout: 60_000 });
  const requests = page.getByTestId("family-requests");
  const request = requests.locator('form[data-request="family_id_card"]');
  await expect(request).toContainText("居民身份证", { timeout: 30_000 });
  await expect(request).toContainText("前答复");
  await expect(page.locator('li[data-step="household_deregistration"]')).toHaveAttribute("data-state", "BLOCKED");
  await page.screenshot({ path: `${shots}/portal-family-request.png`, fullPage: true });

  // The funeral home cremates; the deregistration still waits for the card.
  await cremate(await funeralDeathCase(FAMILY), FAMILY);
  await expect(page.locator('li[data-step="funeral_disposal"]')).toHaveAttribute("data-state", "SUCCEEDED", { timeout: 60_000 });
  await expect(page.getByTestId("case-state")).toHaveAttribute("data-state", "RUNNING");

  // The family answers in the portal; the case finishes.
  await request.getByLabel("答复或材料说明").fill("已于县政务服务中心公安窗口交回居民身份证");
  await request.getByRole("button", { name: "提交答复" }).click();
  await expect(requests.getByRole("status")).toContainText("已提交答复");
  await expect(page.getByTestId("case-state")).toHaveAttribute("data-state", "COMPLETED", { timeout: 60_000 });
  await expect(card).toHaveAttribute("data-state", "SUCCEEDED");
  await expect(page.getByTestId("timeline")).toContainText("家属已答复补件");
  const shown = await page.locator("body").innerText();
  expect(shown).not.toContain(p.deceased.idNumber);
  await page.getByTestId("logout").click();

  // Another family sees neither the case nor its request.
  await signIn(page, token("citizen", "citizen-li-stranger"));
  await page.goto(caseUrl);
  await expect(page.getByRole("alert")).toContainText("无权查看或办理此事项");
  await expect(page.getByTestId("family-requests")).toHaveCount(0);
  await page.getByTestId("logout").click();

  // The operator reruns household deregistration as a linked new case (the rest is reused).
  await signIn(page, token("operator", "operator-qian"));
  await expect(page.getByTestId("console-requests")).toBeVisible();
  await page.screenshot({ path: `${shots}/console-tools.png`, fullPage: true });
  await page.goto(caseUrl);
  const fork = page.getByTestId("fork");
  await fork.getByLabel("从此步骤重办").selectOption("household_deregistration");
  await fork.getByRole("button", { name: "重办" }).click();
  await expect(page.getByTestId("forked-from")).toBeVisible();
  await expect(page.getByTestId("case-state")).toHaveAttribute("data-state", "COMPLETED", { timeout: 60_000 });
  await expect(page.locator('li[data-step="funeral_death_case"]')).toContainText("reused:");
  await expect(page.getByTestId("trace-id")).toHaveAttribute("href", /\/trace\/[0-9a-f]{32}$/);
  await page.screenshot({ path: `${shots}/console-fork.png`, fullPage: true });
  await page.goto(caseUrl);
  await expect(page.getByTestId("fork-link")).toBeVisible();
});
