"""The page's theme, stylesheet and the few lines of JavaScript behind markers and chips."""

from __future__ import annotations

from typing import Any

SANS = [
    "ui-sans-serif",
    "system-ui",
    "-apple-system",
    "Segoe UI",
    "Roboto",
    "Helvetica Neue",
    "Arial",
    "Noto Sans",
    "Liberation Sans",
    "sans-serif",
]
SERIF = '"Iowan Old Style", "Charter", "Georgia", "Cambria", "Noto Serif", "DejaVu Serif", serif'
MONO = ["ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "Liberation Mono", "monospace"]


def theme() -> Any:
    """A calm theme on system fonts only (no web fonts are fetched)."""
    import gradio as gr

    return gr.themes.Base(
        primary_hue="indigo", neutral_hue="slate", radius_size="md", font=SANS, font_mono=MONO
    ).set(
        body_background_fill="#f6f7f9",
        block_title_text_weight="600",
        block_label_text_weight="600",
        button_primary_background_fill="#4f46e5",
        button_primary_background_fill_hover="#4338ca",
        button_primary_text_color="white",
    )


# A click on a marker in the transcript opens its source in the reader.
TRANSCRIPT_JS = """
const scroller = element.closest('#na-transcript') || element;
element.addEventListener('click', (event) => {
  const marker = event.target.closest('[data-cite]');
  if (!marker || !element.contains(marker)) return;
  event.preventDefault();
  element.querySelectorAll('.na-cite.na-active').forEach((b) => b.classList.remove('na-active'));
  marker.classList.add('na-active');
  trigger('click', {turn: Number(marker.dataset.turn), n: Number(marker.dataset.cite)});
});
// Follow the answer as it streams, unless the reader has scrolled up; a new question always.
let follow = true;
let asked = 0;
scroller.addEventListener('scroll', () => {
  follow = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 80;
});
watch('value', () => {
  const count = element.querySelectorAll('.na-user').length;
  if (follow || count !== asked) scroller.scrollTop = scroller.scrollHeight;
  asked = count;
});
"""

# Centre the clicked sentence in the reader panel (the panel scrolls, not the page).
READER_JS = """
const scroller = element.closest('#na-reader') || element;
const show = () => {
  const focus = element.querySelector('#na-focus');
  if (!focus) return;
  const panel = scroller.getBoundingClientRect();
  const box = focus.getBoundingClientRect();
  const head = element.querySelector('.na-reader-head');
  const covered = head ? head.offsetHeight : 0;  // the sticky title hides the top of the panel
  const margin = covered + Math.max(24, (scroller.clientHeight - covered - box.height) / 2);
  scroller.scrollTo({top: scroller.scrollTop + box.top - panel.top - margin, behavior: 'smooth'});
  const hidden = panel.top < 0 || panel.bottom > window.innerHeight;
  if (hidden) scroller.scrollIntoView({block: 'nearest'});
};
watch('value', () => requestAnimationFrame(show));
"""

EXAMPLES_JS = """
element.addEventListener('click', (event) => {
  const chip = event.target.closest('[data-question]');
  if (chip) trigger('click', {question: chip.dataset.question});
});
"""

CSS = (
    """
:root { --na-ink: #1f2430; --na-muted: #667085; --na-line: #e4e7ec; --na-accent: #4f46e5;
  --na-accent-soft: #eef0ff; --na-mark: #fff3c4; --na-mark-strong: #ffd966; }
footer { margin-top: 4px !important; padding: 0 !important; opacity: .6; }
#na-header { flex-wrap: nowrap; }
#na-brand { flex: 0 0 auto !important; width: auto !important; }
#na-status { flex: 1 1 auto !important; min-width: 0 !important; }
#na-new { flex: 0 0 auto !important; align-self: center; }
.na-logo { display: inline-flex; width: 28px; height: 28px; border-radius: 8px; margin-right: 9px;
  background: var(--na-accent); color: #fff; font-size: 18px; align-items: center;
  justify-content: center; vertical-align: -5px; }
.na-side-hint { font-size: 12.5px; color: var(--na-muted); margin: 4px 0 -2px; }
.na-side-title { font-size: 11.5px; font-weight: 700; letter-spacing: .08em; color: var(--na-muted);
  text-transform: uppercase; margin: 6px 0 -4px; }
#na-main { height: calc(100vh - 160px); min-height: 520px; flex-wrap: nowrap; }
#na-chat-col, #na-reader-col { height: 100%; flex-wrap: nowrap; }
#na-transcript { flex: 1 1 0 !important; min-height: 0 !important; }
#na-reader { flex: 1 1 0 !important; min-height: 0 !important; }
#na-header { align-items: center; border-bottom: 1px solid var(--na-line); padding: 4px 2px 10px;
  gap: 12px; }
.na-brand { font-size: 19px; font-weight: 650; color: var(--na-ink); letter-spacing: -0.01em; }
.na-brand small { display: block; font-size: 12.5px; font-weight: 400; color: var(--na-muted);
  letter-spacing: 0; }
.na-status { font-size: 12.5px; color: var(--na-muted); text-align: right; line-height: 1.5;
  padding-top: 6px; }
@media (min-width: 1100px) { .na-status { white-space: nowrap; } }
.na-status b { color: var(--na-ink); font-weight: 600; }
.na-status .na-pill { display: inline-block; padding: 1px 8px; border-radius: 999px;
  background: var(--na-accent-soft); color: var(--na-accent); font-weight: 600; }
#na-transcript, #na-reader { background: #fff; border: 1px solid var(--na-line) !important;
  border-radius: 12px !important; overflow-y: auto !important; }
#na-transcript { padding: 20px 22px 8px !important; }
.na-thread { display: flex; flex-direction: column; gap: 18px; }
.na-msg { max-width: 100%; font-size: 15px; line-height: 1.62; color: var(--na-ink); }
.na-user { align-self: flex-end; max-width: 80%; }
.na-user .na-bubble { background: var(--na-accent); color: #fff; padding: 9px 14px;
  border-radius: 16px 16px 4px 16px; white-space: pre-wrap; word-break: break-word; }
.na-bot .na-answer { white-space: pre-wrap; word-break: break-word; }
.na-cite { display: inline-flex; align-items: center; justify-content: center; min-width: 18px;
  height: 18px; padding: 0 5px; margin: 0 1px 0 3px; border-radius: 9px; border: none;
  background: var(--na-accent-soft); color: var(--na-accent); font: 600 11px/1 ui-sans-serif,
  system-ui, sans-serif; vertical-align: super; cursor: pointer; transition: all .12s; }
button.na-cite:hover, button.na-cite:focus-visible, button.na-cite.na-active {
  background: var(--na-accent); color: #fff; outline: none; }
.na-cite.na-pending { background: #f0f1f4; color: var(--na-muted); cursor: default; }
.na-sources { margin-top: 10px; padding-top: 8px; border-top: 1px dashed var(--na-line); }
.na-sources ul { list-style: none; margin: 0; padding: 0; }
.na-sources-head { font-size: 11px; font-weight: 700; letter-spacing: .08em; color: var(--na-muted);
  text-transform: uppercase; margin-bottom: 4px; }
.na-source { display: grid; grid-template-columns: auto 1fr; gap: 0 10px; font-size: 13px;
  line-height: 1.45; padding: 4px 0; }
.na-source .na-cite { vertical-align: baseline; margin: 0; }
.na-source-cites { display: inline-flex; gap: 3px; padding-top: 1px; }
.na-source-title { display: block; font-weight: 600; color: var(--na-ink); }
.na-source-meta { color: var(--na-muted); }
.na-source-meta a.na-link { margin-left: 8px; }
a.na-link { color: var(--na-accent); text-decoration: none; font-size: 13px; }
a.na-link:hover { text-decoration: underline; }
.na-notice { display: flex; gap: 10px; align-items: flex-start; padding: 10px 14px;
  border-radius: 10px; font-size: 14.5px; }
.na-notice-icon { flex: none; width: 22px; height: 22px; border-radius: 50%; display: flex;
  align-items: center; justify-content: center; font-weight: 700; font-size: 13px; }
.na-not-covered .na-notice { background: #f4f5f7; color: #475467; }
.na-not-covered .na-notice-icon { background: #e4e7ec; color: #475467; }
.na-error .na-notice { background: #fff8eb; color: #7a4a00; }
.na-error .na-notice-icon { background: #ffe7b3; color: #7a4a00; }
.na-typing { display: inline-flex; gap: 3px; margin-left: 6px; vertical-align: middle; }
.na-typing i { width: 6px; height: 6px; border-radius: 50%; background: #a3aab8;
  animation: na-blink 1.2s infinite ease-in-out; }
.na-typing i:nth-child(2) { animation-delay: .2s; } .na-typing i:nth-child(3) {
  animation-delay: .4s; }
@keyframes na-blink { 0%, 80%, 100% { opacity: .25; } 40% { opacity: 1; } }
.na-empty { max-width: 460px; margin: 12vh auto 0; text-align: center; color: var(--na-muted);
  font-size: 14.5px; line-height: 1.6; }
.na-empty-title { font-size: 22px; font-weight: 650; color: var(--na-ink); margin-bottom: 6px; }
.na-examples { display: flex; flex-wrap: wrap; gap: 6px; align-items: center; padding: 2px 0; }
.na-examples-label { font-size: 12.5px; color: var(--na-muted); margin-right: 2px; }
.na-chip { border: 1px solid var(--na-line); background: #fff; color: var(--na-ink);
  border-radius: 999px; padding: 4px 12px; font-size: 13px; cursor: pointer; }
.na-chip:hover { border-color: var(--na-accent); color: var(--na-accent); }
#na-reader { padding: 0 !important; }
#na-reader .html-container, #na-reader .prose { padding: 0 !important; margin: 0 !important; }
.na-reader-doc { padding: 0 30px; }
.na-reader-empty { margin: 0 auto; padding-top: 18vh; max-width: 320px; text-align: center;
  color: var(--na-muted); font-size: 14px; line-height: 1.6; }
.na-reader-icon { font-size: 30px; color: #c3c8d4; margin-bottom: 6px; }
.na-reader-head { position: sticky; top: 0; margin: 0 -30px; padding: 18px 30px 12px;
  background: #fff; border-bottom: 1px solid var(--na-line); z-index: 2; }
.na-reader-meta { font-size: 12px; letter-spacing: .06em; text-transform: uppercase;
  color: var(--na-muted); font-weight: 600; }
.na-reader-title { font-family: """
    + SERIF
    + """; font-size: 19px; line-height: 1.3;
  margin: 4px 0 2px; color: var(--na-ink); font-weight: 700; }
.na-reader-body { font-family: """
    + SERIF
    + """; font-size: 16.5px; line-height: 1.72;
  color: #2b2f3a; white-space: pre-line; margin-top: 16px; padding-bottom: 40vh; }
.na-reader-body mark.na-cited { background: var(--na-mark); color: inherit; padding: 1px 0;
  border-radius: 3px; box-decoration-break: clone; -webkit-box-decoration-break: clone; }
.na-reader-body mark.na-focus { background: var(--na-mark-strong);
  box-shadow: 0 0 0 2px var(--na-mark-strong); }
.na-mark-n { font: 600 10px/1 ui-sans-serif, system-ui, sans-serif; color: #8a6d00;
  margin-left: 2px; }
.na-reader-note { color: var(--na-muted); }
#na-composer { align-items: stretch; gap: 8px; }
#na-composer textarea { font-size: 15px !important; }
#na-upload-result { font-size: 13px; line-height: 1.5; }
.na-upload-ok { color: #05603a; } .na-upload-bad { color: #b42318; }
.na-upload-result ul { margin: 4px 0 0 16px; padding: 0; }
@media (max-width: 900px) { #na-main { height: auto; flex-wrap: wrap; }
  #na-transcript, #na-reader { flex: none !important; height: 70vh; } }
"""
)
