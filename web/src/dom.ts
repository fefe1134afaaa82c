// A tiny DOM builder: text is always text (never parsed as HTML), so nothing the API returns can
// become markup.

type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | boolean | number | EventListener | undefined>;

export function h(tag: string, attrs: Attrs = {}, ...children: Child[]): HTMLElement {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") {
      el.addEventListener(k.slice(2), v as EventListener);
    } else if (v === true) {
      el.setAttribute(k, "");
    } else {
      el.setAttribute(k, String(v));
    }
  }
  append(el, children);
  return el;
}

export function append(el: Node, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.appendChild(typeof c === "object" ? c : document.createTextNode(String(c)));
  }
}

export function replace(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, children);
}

/** A labelled input for a form. */
export function field(label: string, name: string, attrs: Attrs = {}): HTMLElement {
  return h("label", { class: "field" }, h("span", {}, label), h("input", { name, ...attrs }));
}

export function select(label: string, name: string, options: [string, string][], value = ""): HTMLElement {
  // Named explicitly: a wrapping label's text would include the chosen option's.
  const s = h("select", { name, "aria-label": label }) as HTMLSelectElement;
  for (const [v, text] of options) {
    s.appendChild(h("option", { value: v, selected: v === value }, text));
  }
  return h("label", { class: "field" }, h("span", {}, label), s);
}

export function formValues(form: HTMLFormElement): Record<string, string> {
  const out: Record<string, string> = {};
  new FormData(form).forEach((v, k) => {
    out[k] = String(v).trim();
  });
  return out;
}
