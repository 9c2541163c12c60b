// A story's timeline: a click on a sentence opens it in the reader; Follow follows the story
// (Unfollow stops).
const scroller = element.closest('#na-story') || element;
element.addEventListener('click', (event) => {
  const follow = event.target.closest('button[data-follow]');
  if (follow && element.contains(follow) && !follow.disabled) {
    event.preventDefault();
    follow.disabled = true;
    follow.textContent = follow.getAttribute('aria-pressed') === 'true' ? 'Unfollowing…' : 'Following…';
    trigger('follow', {});
    return;
  }
  const point = event.target.closest('button[data-point]');
  if (!point || !element.contains(point)) return;
  event.preventDefault();
  element.querySelectorAll('.na-point-text.na-active').forEach((b) => b.classList.remove('na-active'));
  point.classList.add('na-active');
  trigger('click', {point: Number(point.dataset.point)});
});
// A story just opened starts at its top; the same story again (followed) stays where it was.
let shown = '';
watch('value', () => {
  const story = element.querySelector('[data-story]');
  const id = story ? story.dataset.story : '';
  if (id !== shown) scroller.scrollTop = 0;
  shown = id;
});
