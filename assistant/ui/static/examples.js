// Example questions: a click on a chip asks it.
element.addEventListener('click', (event) => {
  const chip = event.target.closest('[data-question]');
  if (chip) trigger('click', {question: chip.dataset.question});
});
