-- Naming applications keep their expert-review (专家论证) and public-consultation (征求意见)
-- reports; the overdue filing list reads approved applications by due date.
ALTER TABLE naming_applications ADD COLUMN expert_report TEXT NOT NULL DEFAULT '';
ALTER TABLE naming_applications ADD COLUMN public_opinion_report TEXT NOT NULL DEFAULT '';
CREATE INDEX naming_applications_due ON naming_applications (stage, filing_due, id);
