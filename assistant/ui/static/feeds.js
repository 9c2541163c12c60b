// The feed list: Remove asks once more (a second click within 5 s), then removes the feed.
element.addEventListener('click', (event) => {
  const button = event.target.closest('button[data-feed]');
  if (!button || !element.contains(button) || button.disabled) return;
  event.preventDefault();
  if (button.dataset.armed !== '1') {
    button.dataset.armed = '1';
    button.classList.add('na-armed');
    button.textContent = 'Remove its articles?';
    setTimeout(() => {
      if (button.disabled) return;
      button.dataset.armed = '';
      button.classList.remove('na-armed');
      button.textContent = 'Remove';
    }, 5000);
    return;
  }
  button.disabled = true;
  button.textContent = 'Removing…';
  trigger('click', {feed: button.dataset.feed});
});
