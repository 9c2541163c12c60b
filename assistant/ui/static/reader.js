// The reader panel: centre the clicked sentence (the panel scrolls, not the page).
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
