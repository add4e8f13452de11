// The card form: Stripe.js takes the card and confirms the PaymentIntent with Stripe
// (3-D Secure included); then the result page follows the top-up's real status.
// With data-mode="setup" (the portal's "save a card") it confirms a SetupIntent instead,
// and stays on the form to say what Stripe refused.
(function () {
  const section = document.getElementById('card');
  if (!section || typeof Stripe === 'undefined' || !section.dataset.secret) return;
  const stripe = Stripe(section.dataset.key);
  const card = stripe.elements().create('card');
  card.mount('#card-element');
  const form = document.getElementById('card-form');
  const button = document.getElementById('card-pay');
  const error = document.getElementById('card-error');
  const setup = section.dataset.mode === 'setup';
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    button.disabled = true;
    error.hidden = true;
    const data = {payment_method: {card: card}};
    const answer = setup
      ? await stripe.confirmCardSetup(section.dataset.secret, data)
      : await stripe.confirmCardPayment(section.dataset.secret, data);
    if (answer.error) {
      error.textContent = answer.error.message || String(answer.error);
      error.hidden = false;
      if (setup) {
        button.disabled = false;
        return;
      }
    }
    window.location.assign(section.dataset.result);
  });
})();
