/**
 * The page's stylesheet and icon, served as /page.css and /page.svg so that the CSP can forbid
 * inline style. One column on a phone, the facts beside their labels from 32rem up; system
 * fonts, light and dark.
 */
export const PAGE_STYLE = `:root {
  --ink: #1b1f24;
  --muted: #57606a;
  --paper: #ffffff;
  --card: #f6f8fa;
  --line: #d0d7de;
  --accent: #0b5cad;
  --danger: #a40e26;
  font-family: system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif;
  line-height: 1.5;
  color: var(--ink);
  background: var(--paper);
}
@media (prefers-color-scheme: dark) {
  :root {
    --ink: #e6edf3;
    --muted: #9da7b3;
    --paper: #0d1117;
    --card: #161b22;
    --line: #30363d;
    --accent: #58a6ff;
    --danger: #ff7b72;
  }
}
* {
  box-sizing: border-box;
}
body {
  margin: 0;
}
main {
  max-width: 40rem;
  margin: 0 auto;
  padding: 1.25rem 1rem 3rem;
}
h1 {
  font-size: 1.75rem;
  margin: 0 0 0.5rem;
}
h2 {
  font-size: 1.15rem;
  margin: 0 0 0.75rem;
}
#status {
  min-height: 3em;
  margin: 0 0 1rem;
  padding: 0.5rem 0.75rem;
  border-left: 4px solid var(--accent);
  background: var(--card);
}
section {
  margin: 0 0 1.25rem;
  padding: 1rem;
  border: 1px solid var(--line);
  border-radius: 8px;
  background: var(--card);
}
dl {
  margin: 0;
}
dt {
  color: var(--muted);
  font-size: 0.9rem;
}
dd {
  margin: 0 0 0.6rem;
  overflow-wrap: anywhere;
}
@media (min-width: 32rem) {
  dl {
    display: grid;
    grid-template-columns: 11rem 1fr;
    gap: 0.25rem 1rem;
  }
  dd {
    margin: 0;
  }
}
code {
  font-size: 1.05rem;
}
body:not([data-session='live']) .when-live {
  display: none;
}
#session-countdown {
  font-variant-numeric: tabular-nums;
  font-weight: 600;
}
.hint {
  color: var(--muted);
  font-size: 0.9rem;
}
.actions {
  display: flex;
  flex-wrap: wrap;
  gap: 0.75rem;
}
button {
  min-height: 2.75rem;
  padding: 0.5rem 1.1rem;
  font: inherit;
  border-radius: 6px;
  border: 1px solid var(--accent);
  background: var(--accent);
  color: var(--paper);
  cursor: pointer;
}
#end-session {
  background: transparent;
  color: var(--danger);
  border-color: var(--danger);
}
button:disabled {
  opacity: 0.45;
  cursor: not-allowed;
}
button:focus-visible {
  outline: 3px solid var(--ink);
  outline-offset: 2px;
}
`

/** The page's icon: a clock face, so browsers find an icon instead of asking for /favicon.ico. */
export const PAGE_ICON = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">
<circle cx="16" cy="16" r="14" fill="#0b5cad"/>
<path d="M16 8v8l5 3" stroke="#fff" stroke-width="3" stroke-linecap="round" fill="none"/>
</svg>
`
