"""Airtel Money Africa Open API (Tanzania): OAuth2 client credentials, USSD push collection
(/merchant/v1/payments/), enquiry and refund; TS/TF/TIP/TA statuses refined by DP codes."""
