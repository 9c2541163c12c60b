// The transcript: a click on a [n] marker opens its source in the reader panel.
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
