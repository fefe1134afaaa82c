// The family, on a phone: the son applies at the portal (the household register shows him as the
// deceased's child) and watches every bureau finish the case, live: household deregistration
// waits for the cremation certificate, so the funeral step waits until the funeral home
// cremates. Another family sees nothing of it. (Joining a case a death registration started is the operator test's path.)

import { test, expect } from "@playwright/test";
import { cremate, funeralDeathCase, people, shots, signIn, today, token, VILLAGE } from "./suite";

const FAMILY = 3;

test("a family starts an after-death case and watches every bureau finish it", async ({ page }) => {
  const p = people(FAMILY);
  await signIn(page, token("citizen", "citizen-wang-xiaoming"));
  await expect(page).toHaveURL(/#\/portal$/);
  await expect(page.getByTestId("my-cases")).toContainText("暂无事项");

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

  // The case page, live: every bureau but the funeral home finishes without a reload; the
  // funeral step waits for the cremation and household deregistration waits for it.
  await expect(page).toHaveURL(/#\/case\//);
  const steps = page.getByTestId("steps").locator("li");
  await expect(steps).toHaveCount(10);
  const disposal = page.locator('li[data-step="funeral_disposal"]');
  await expect(disposal).toHaveAttribute("data-waiting", "true", { timeout: 60_000 });
  await expect(disposal).toContainText("火化/安葬");
  await expect(disposal).toContainText("等待中");
  await expect(page.getByTestId("waiting-funeral_disposal")).toContainText("等待殡仪馆火化");
  for (const done of ["funeral_death_case", "assistance_terminate", "pension_stop", "medical_insurance_end"]) {
    await expect(page.locator(`li[data-step="${done}"]`)).toHaveAttribute("data-state", "SUCCEEDED", { timeout: 60_000 });
  }
  await expect(page.locator('li[data-step="household_deregistration"]')).toHaveAttribute("data-state", "BLOCKED");
  await expect(page.getByTestId("case-state")).toHaveAttribute("data-state", "RUNNING");
  await page.screenshot({ path: `${shots}/portal-case-waiting.png`, fullPage: true });

  // The funeral home: the death its registration desk looks up is the one the family's
  // application registered; it books a furnace and cremates. The page follows, live.
  const certificate = await cremate(await funeralDeathCase(FAMILY), FAMILY);
  await expect(page.getByTestId("case-state")).toHaveAttribute("data-state", "COMPLETED", { timeout: 60_000 });
  await expect(page.getByTestId("steps").locator('li[data-state="SUCCEEDED"]')).toHaveCount(10);
  await expect(disposal).not.toHaveAttribute("data-waiting", "true");
  await expect(disposal).toContainText(certificate);
  await expect(page.locator('li[data-step="household_deregistration"]')).toContainText("公安户籍");
  await expect(page.getByTestId("timeline")).toContainText("全部办结");
  await expect(page.getByText("家属申请")).toBeVisible();
  await expect(page.getByText("户籍登记的近亲属")).toBeVisible();
  // Masked as the API returns it: no full identity number on the page.
  const shown = await page.locator("body").innerText();
  expect(shown).not.toContain(p.deceased.idNumber);
  expect(shown).not.toContain(p.declarant.idNumber);
  // No trace id for a citizen (an operator's tool).
  await expect(page.getByTestId("trace-id")).toHaveCount(0);
  await page.screenshot({ path: `${shots}/portal-case.png`, fullPage: true });

  // The case is in "my cases".
  await page.goto("/#/portal");
  await expect(page.getByTestId("my-cases").locator("li")).toHaveCount(1);
  await expect(page.getByTestId("my-cases")).toContainText("已办结");
});

test("a citizen cannot see another family's case", async ({ page }) => {
  // The case of the first test, found as its family sees it.
  await signIn(page, token("citizen", "citizen-wang-xiaoming"));
  await expect(page.getByTestId("my-cases").locator("li a")).toHaveCount(1);
  const href = (await page.getByTestId("my-cases").locator("li a").getAttribute("href")) ?? "";
  expect(href).toMatch(/^#\/case\//);
  await page.getByTestId("logout").click();

  await signIn(page, token("citizen", "citizen-li-stranger"));
  await expect(page.getByTestId("my-cases")).toContainText("暂无事项");
  await page.goto(`/${href}`);
  await expect(page.getByRole("alert")).toContainText("无权查看或办理此事项");
  await expect(page.getByTestId("case-state")).toHaveCount(0);
  const shown = await page.locator("body").innerText();
  expect(shown).not.toContain("王大明");
  await expect(page.getByTestId("steps")).toHaveCount(0);
});
