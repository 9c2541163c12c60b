// The lists of stories: a click on one opens its timeline below.
element.addEventListener('click', (event) => {
  const item = event.target.closest('button[data-story]');
  if (!item || !element.contains(item)) return;
  event.preventDefault();
  element.querySelectorAll('.na-story-item.na-active').forEach((b) => b.classList.remove('na-active'));
  item.classList.add('na-active');
  trigger('click', {story: item.dataset.story});
});
