// Follows the top-up's real status until it is final.
(function () {
  const section = document.getElementById('result');
  if (!section) return;
  const show = (status, reason) => {
    document.querySelectorAll('.state').forEach((line) => {
      line.hidden = line.dataset.state !== status;
    });
    document.getElementById('reason').textContent = reason || '';
    section.dataset.status = status;
  };
  const poll = async () => {
    try {
      const response = await fetch(section.dataset.statusUrl, {cache: 'no-store'});
      const body = await response.json();
      show(body.status, body.failure_reason);
      if (body.status !== 'pending') return;
    } catch (err) { /* the next poll tries again */ }
    setTimeout(poll, 1000);
  };
  if (section.dataset.final !== 'true') poll();
})();
