// The card form: Stripe.js takes the card and confirms the PaymentIntent with Stripe
// (3-D Secure included); then the result page follows the top-up's real status.
(function () {
  const section = document.getElementById('card');
  if (!section || typeof Stripe === 'undefined' || !section.dataset.secret) return;
  const stripe = Stripe(section.dataset.key);
  const card = stripe.elements().create('card');
  card.mount('#card-element');
  const form = document.getElementById('card-form');
  const button = document.getElementById('card-pay');
  const error = document.getElementById('card-error');
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    button.disabled = true;
    error.hidden = true;
    const answer = await stripe.confirmCardPayment(section.dataset.secret,
                                                   {payment_method: {card: card}});
    if (answer.error) {
      error.textContent = answer.error.message || String(answer.error);
      error.hidden = false;
    }
    window.location.assign(section.dataset.result);
  });
})();
