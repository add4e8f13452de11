# ruff: noqa: E501 - a sentence and its translation read best unbroken
"""The Swahili words of the pages, kept as Python so a reviewer reads them beside the
English; `python -m billing.pages.swahili` writes and compiles the sw catalog from them
and a template extracted by `pybabel extract -F billing/pages/babel.cfg -k _l -o POT .`:
`python -m billing.pages.swahili POT`."""

from __future__ import annotations

SW = {
    "Home": "Mwanzo", "Review queue": "Foleni ya ukaguzi", "Invoices": "Ankara",
    "Invoice runs": "Uandaaji wa ankara", "Z reports": "Ripoti za Z", "Tenants": "Wateja",
    "Rate plans": "Mipango ya bei", "Audit trail": "Kumbukumbu za ukaguzi",
    "Your session has ended": "Muda wako umekwisha",
    "Open the billing portal again from your platform account.":
        "Fungua tena lango la malipo kutoka akaunti yako ya jukwaa.",
    "This form has expired": "Fomu hii imepitwa na muda",
    "Go back, reload the page and send the form again.":
        "Rudi nyuma, pakia ukurasa upya kisha tuma fomu tena.",
    "pending": "inasubiri", "succeeded": "imefanikiwa", "failed": "imeshindwa",
    "cancelled": "imeghairiwa", "expired": "imepitwa na muda", "refunded": "imerejeshwa",
    "open": "wazi", "resolved": "imetatuliwa", "draft": "rasimu", "final": "kamili",
    "void": "imefutwa", "delivered": "imewasilishwa", "acknowledged": "imethibitishwa",
    "active": "hai", "suspended": "imesimamishwa", "Voice calls": "Simu za sauti",
    "SMS": "SMS", "WhatsApp": "WhatsApp", "Tax invoice": "Ankara ya kodi", "Receipt": "Risiti",
    "Credit note": "Hati ya punguzo", "Please correct the form.": "Tafadhali sahihisha fomu.",
    "Skip to content": "Ruka hadi maudhui",
    "Prices in this portal include VAT where it applies.":
        "Bei katika lango hili zinajumuisha VAT inapohusika.",
    "Error": "Hitilafu", "Back office": "Ofisi ya ndani", "Sign out": "Toka",
    "Progress of the period from %(start)s": "Maendeleo ya kipindi kuanzia %(start)s",
    "Finalised": "Zimekamilishwa",
    "%(done)s of %(total)s documents finalised; %(tenants)s postpaid tenants.":
        "Hati %(done)s kati ya %(total)s zimekamilishwa; wateja %(tenants)s wa malipo ya baadaye.",
    "Actor": "Mtendaji", "Action": "Kitendo", "Tenant id": "Kitambulisho cha mteja",
    "Subject id": "Kitambulisho cha kitu", "From": "Kuanzia", "Search": "Tafuta",
    "When": "Lini", "Subject": "Kitu", "No events match.": "Hakuna matukio yanayolingana.",
    "Open review items": "Vipengele wazi vya ukaguzi", "Draft invoices": "Rasimu za ankara",
    "Draft invoice": "Rasimu ya ankara", "(draft)": "(rasimu)", "Status": "Hali",
    "Tenant": "Mteja", "Period": "Kipindi", "Net": "Kabla ya kodi", "VAT": "VAT",
    "Total": "Jumla", "Due": "Kinachodaiwa", "Fiscal": "Kodi (TRA)", "Lines": "Mistari",
    "Description": "Maelezo", "Quantity": "Kiasi", "Amount": "Kiasi cha pesa",
    "Finalise": "Kamilisha", "TZS per unit": "TZS kwa kipimo", "Rate source": "Chanzo cha kiwango",
    "Finalise invoice": "Kamilisha ankara", "Discard draft": "Futa rasimu", "Reason": "Sababu",
    "Draft a credit note for the whole invoice": "Andaa hati ya punguzo kwa ankara yote",
    "Payments": "Malipo", "First day": "Siku ya kwanza", "Day after the last": "Siku baada ya mwisho",
    "Draft every postpaid tenant's invoice": "Andaa ankara ya kila mteja wa malipo ya baadaye",
    "All": "Zote", "Number": "Namba", "Show": "Onyesha", "Kind": "Aina", "Draft": "Rasimu",
    "No invoices match.": "Hakuna ankara zinazolingana.",
    "New draft from a postpaid period": "Rasimu mpya ya kipindi cha malipo ya baadaye",
    "Make the draft": "Andaa rasimu",
    "%(count)s versions; the latest two side by side.":
        "Matoleo %(count)s; mawili ya karibuni kando kwa kando.",
    "Version": "Toleo", "No rate plans yet.": "Bado hakuna mipango ya bei.",
    "Confirm it is you": "Thibitisha kuwa ni wewe", "Password": "Nenosiri",
    "Authenticator code": "Namba ya uthibitisho", "Confirm": "Thibitisha",
    "This action moves money or issues a tax document. Enter your password and a code again.":
        "Kitendo hiki kinahamisha pesa au kutoa hati ya kodi. Weka nenosiri na namba tena.",
    "Review item": "Kipengele cha ukaguzi", "Raised": "Kiliibuliwa", "Resolution": "Utatuzi",
    "Evidence": "Ushahidi", "Top-up": "Kuongeza salio", "Reference": "Kumbukumbu",
    "Payer": "Mlipaji", "Callback as received": "Taarifa ya mtoa huduma kama ilivyopokelewa",
    "Resolve": "Tatua", "What was done": "Kilichofanyika", "Summary": "Muhtasari",
    "Nothing to review.": "Hakuna cha kukagua.",
    "Six-digit code, or a recovery code": "Namba ya tarakimu sita, au namba ya dharura",
    "From your authenticator app. A recovery code works once.":
        "Kutoka programu yako ya uthibitisho. Namba ya dharura hutumika mara moja.",
    "Sign in": "Ingia", "Staff sign-in": "Kuingia kwa wafanyakazi", "E-mail": "Barua pepe",
    "Continue": "Endelea",
    "Created %(name)s. Its first API key, shown once:":
        "%(name)s ameundwa. Ufunguo wake wa kwanza wa API, unaonyeshwa mara moja:",
    "Name": "Jina", "Mode": "Aina ya malipo", "Suspend": "Simamisha", "Reinstate": "Rejesha",
    "New tenant": "Mteja mpya", "Mobile number": "Namba ya simu", "TIN": "TIN", "VRN": "VRN",
    "Billing": "Malipo", "prepaid": "kulipia kabla", "postpaid": "kulipia baadaye",
    "Currency": "Sarafu", "City": "Mji", "Create tenant": "Unda mteja", "Day": "Siku",
    "Z number": "Namba ya Z", "No Z reports yet.": "Bado hakuna ripoti za Z.",
    "Billing portal": "Lango la malipo", "Operator": "Mtoa huduma",
    "Suggested from the number; change it if your wallet is elsewhere.":
        "Imependekezwa kutokana na namba; ibadilishe kama pochi yako iko kwingine.",
    "Choose your mobile money operator.": "Chagua mtoa huduma wako wa pesa kwa simu.",
    "Find it from the number": "Tambua kutokana na namba", "suggested": "imependekezwa",
    "Approve on your phone": "Idhinisha kwenye simu yako",
    "a payment request was sent to %(number)s (%(wallet)s). Enter your PIN on the phone to approve it.":
        "ombi la malipo limetumwa kwa %(number)s (%(wallet)s). Weka PIN yako kwenye simu kuidhinisha.",
    "This page updates by itself.": "Ukurasa huu unajisasisha wenyewe.",
    "Payment received.": "Malipo yamepokelewa.",
    "%(amount)s was added to your balance.": "%(amount)s imeongezwa kwenye salio lako.",
    "See your balance": "Angalia salio lako", "Receipts": "Risiti",
    "The payment did not go through.": "Malipo hayakukamilika.", "Try again": "Jaribu tena",
    "API keys": "Funguo za API",
    "Your new key. Copy it now: it is shown only once.":
        "Ufunguo wako mpya. Unakili sasa: unaonyeshwa mara moja tu.",
    "Create a key": "Unda ufunguo", "Label": "Jina la ufunguo",
    "What the key is for": "Ufunguo ni wa nini", "Role": "Jukumu",
    "User: reads and tops up": "Mtumiaji: anasoma na kuongeza salio",
    "Admin: also manages keys and profile": "Msimamizi: pia anasimamia funguo na wasifu",
    "Create key": "Unda ufunguo", "Keys": "Funguo", "Created": "Iliundwa",
    "revoked": "imebatilishwa", "Revoke": "Batilisha",
    "Invoices and receipts": "Ankara na risiti", "Date": "Tarehe", "PDF": "PDF",
    "Download": "Pakua", "Being prepared": "Inaandaliwa",
    "No invoices or receipts yet.": "Bado hakuna ankara wala risiti.",
    "Overview": "Muhtasari", "Your balance is low.": "Salio lako ni dogo.",
    "At this month's pace it lasts less than a week.":
        "Kwa matumizi ya mwezi huu, litadumu chini ya wiki moja.",
    "Top up now": "Ongeza salio sasa", "Balance": "Salio", "Top up": "Ongeza salio",
    "Spent this month": "Matumizi ya mwezi huu", "Average a day:": "Wastani kwa siku:",
    "Spend by day this month": "Matumizi kwa siku mwezi huu",
    "No usage yet this month.": "Bado hakuna matumizi mwezi huu.",
    "Spend by day as a table": "Matumizi kwa siku kama jedwali", "Service": "Huduma",
    "Profile": "Wasifu",
    "Address and tax numbers printed on your invoices":
        "Anwani na namba za kodi zinazochapishwa kwenye ankara zako",
    "Street and plot": "Mtaa na kiwanja", "P.O. Box": "S.L.P.", "Country": "Nchi",
    "Two letters, e.g. TZ": "Herufi mbili, mf. TZ",
    "9 digits, e.g. 123-456-789": "Tarakimu 9, mf. 123-456-789", "e.g. 40012345K": "mf. 40012345K",
    "Language of documents and this portal": "Lugha ya hati na ya lango hili", "Save": "Hifadhi",
    "Only an admin of your account can change these.":
        "Ni msimamizi wa akaunti yako tu anayeweza kubadilisha haya.",
    "Signed out": "Umetoka", "You are signed out": "Umetoka",
    "Back to your platform account": "Rudi kwenye akaunti yako ya jukwaa",
    "Statement": "Taarifa", "Wallet statement": "Taarifa ya pochi", "Filters": "Vichujio",
    "To": "Hadi", "Entries": "Maingizo", "Money in": "Pesa iliyoingia",
    "Money out": "Pesa iliyotoka", "Download CSV": "Pakua CSV",
    "Wallet entries, newest first": "Maingizo ya pochi, mapya kwanza",
    "No entries match.": "Hakuna maingizo yanayolingana.",
    "Top up by mobile money": "Ongeza salio kwa pesa ya simu", "e.g. 10000": "mf. 10000",
    "Mobile money number": "Namba ya pesa ya simu",
    "The phone that approves the payment": "Simu itakayoidhinisha malipo",
    "Send the payment request": "Tuma ombi la malipo",
    "Back to the overview": "Rudi kwenye muhtasari", "Usage": "Matumizi",
    "Destination": "Mwisho wa simu",
    "%(count)s records, %(amount)s before VAT.": "Rekodi %(count)s, %(amount)s kabla ya VAT.",
    "Rated usage, newest first": "Matumizi yaliyopimwa, mapya kwanza", "Billed": "Imetozwa",
    "Charge": "Gharama", "No usage matches.": "Hakuna matumizi yanayolingana.",
    "Older records": "Rekodi za zamani zaidi", "Usage record": "Rekodi ya matumizi",
    "Rate plan": "Mpango wa bei", "Time band": "Kipindi cha saa", "Billed units": "Vipimo vilivyotozwa",
    "From bundle": "Kutoka kifurushi", "Exact amount": "Kiasi kamili",
    "Rating breakdown": "Mchanganuo wa bei",
    "No breakdown was kept for this record.": "Hakuna mchanganuo uliohifadhiwa kwa rekodi hii.",
    "Back to usage": "Rudi kwenye matumizi", "Saved.": "Imehifadhiwa.",
    "Finalising gives the next number of the series and freezes the invoice; the PDF and TRA follow.":
        "Kukamilisha kunatoa namba inayofuata ya mfululizo na kufunga ankara; PDF na TRA hufuata.",
    "Created %(created)s, already there %(existing)s, nothing to bill %(skipped)s, failed %(failed)s.":
        "Zimeundwa %(created)s, zilikuwepo %(existing)s, bila cha kutoza %(skipped)s, zimeshindwa %(failed)s.",
    "Spend by day this month ": "Matumizi kwa siku mwezi huu",
    "Destinations": "Maeneo ya simu", "Destination imports": "Uingizaji wa maeneo ya simu",
    "A CSV of prefixes (prefix, zone, name, country, operator, market, valid_from, valid_to): every row is loaded, or none.":
        "CSV ya viambishi (prefix, zone, name, country, operator, market, valid_from, valid_to): safu zote zinapakiwa, au hakuna.",
    "Loaded %(loaded)s new rows, closed %(superseded)s, %(unchanged)s unchanged.":
        "Safu mpya %(loaded)s zimepakiwa, %(superseded)s zimefungwa, %(unchanged)s hazijabadilika.",
    "Nothing was loaded.": "Hakuna kilichopakiwa.", "CSV file": "Faili ya CSV", "Import": "Ingiza",
    "Lines total": "Jumla ya mistari",
    "VAT and totals are fixed when it is finalised.": "VAT na jumla huwekwa inapokamilishwa.",
    "Record a payment": "Rekodi malipo", "Method": "Njia", "Received on": "Yalipokelewa tarehe",
    "Record payment": "Rekodi malipo", "Refund the credit held": "Rejesha salio la mkopo",
    "Refund": "Rejesha", "Credit": "Mkopo", "finalised": "imekamilishwa",
    "fiscalised": "imesajiliwa TRA", "sent": "imetumwa",
    "Stacked bars, one a day, coloured by service; the table below has the figures.":
        "Nguzo moja kwa kila siku, rangi kwa huduma; jedwali hapa chini lina takwimu.",
    # Disputes
    "Disputes": "Malalamiko", "Dispute": "Lalamiko", "Dispute this charge": "Lalamikia gharama hii",
    "Dispute a charge": "Lalamikia gharama", "Dispute a period of usage": "Lalamikia matumizi ya kipindi",
    "To question a charge, open it in your usage, statement or invoices and choose “Dispute this charge”.":
        "Kuhoji gharama, ifungue kwenye matumizi, taarifa au ankara zako kisha chagua “Lalamikia gharama hii”.",
    "Your disputes, newest first": "Malalamiko yako, mapya kwanza",
    "Opened": "Lilifunguliwa", "Last change": "Badiliko la mwisho", "Answer due": "Jibu linatarajiwa",
    "Answered": "Limejibiwa", "answered %(when)s": "limejibiwa %(when)s",
    "opened %(when)s": "lilifunguliwa %(when)s", "overdue": "limechelewa",
    "You have not opened a dispute.": "Hujafungua lalamiko lolote.",
    "Older disputes": "Malalamiko ya zamani", "Back to disputes": "Rudi kwenye malalamiko",
    "investigating": "inachunguzwa", "rejected": "limekataliwa",
    "Top-up %(id)s": "Kuongeza salio %(id)s", "Usage record %(id)s": "Rekodi ya matumizi %(id)s",
    "Usage from %(start)s to %(end)s": "Matumizi kuanzia %(start)s hadi %(end)s",
    "Invoice %(number)s": "Ankara %(number)s", "Line %(line)s of %(number)s": "Mstari %(line)s wa %(number)s",
    "Line": "Mstari", "Amount disputed": "Kiasi kinacholalamikiwa", "Your message": "Ujumbe wako",
    "Credited to your wallet": "Imewekwa kwenye pochi yako",
    "Usage priced again": "Matumizi yamepangiwa bei upya", "Credit note issued": "Hati ya punguzo imetolewa",
    "Refunded": "Imerejeshwa", "Rejected": "Limekataliwa",
    "%(changed)s of %(examined)s usage records priced again.":
        "Rekodi %(changed)s kati ya %(examined)s za matumizi zimepangiwa bei upya.",
    "See the entries in your statement": "Angalia maingizo kwenye taarifa yako",
    "Conversation": "Mazungumzo", "You": "Wewe", "Billing team": "Timu ya malipo",
    "No replies yet. We tell you by e-mail when there is news.":
        "Bado hakuna majibu. Tutakujulisha kwa barua pepe kukiwa na habari.",
    "This dispute is closed. To question it again, open a new dispute.":
        "Lalamiko hili limefungwa. Kuliuliza tena, fungua lalamiko jipya.",
    "Your reply": "Jibu lako", "Up to %(count)s characters": "Hadi herufi %(count)s",
    "Send reply": "Tuma jibu", "The usage you dispute": "Matumizi unayolalamikia",
    "Last day": "Siku ya mwisho", "At most 93 days": "Hadi siku 93", "What is wrong?": "Kuna tatizo gani?",
    "Amount you dispute": "Kiasi unacholalamikia", "Optional": "Si lazima",
    "Open the dispute": "Wasilisha lalamiko",
    # Card and automatic top-up
    "Card": "Kadi", "Card and automatic top-up": "Kadi na kuongeza salio kiotomatiki",
    "Automatic top-up": "Kuongeza salio kiotomatiki", "Saved card": "Kadi iliyohifadhiwa",
    "Card payments are not available here.": "Malipo kwa kadi hayapatikani hapa.",
    "Expires %(month)s/%(year)s": "Inaisha %(month)s/%(year)s", "No card is saved.": "Hakuna kadi iliyohifadhiwa.",
    "Remove the card": "Ondoa kadi", "Save a card": "Hifadhi kadi", "Save a card first.": "Hifadhi kadi kwanza.",
    "Save the card": "Hifadhi kadi", "Use another card": "Tumia kadi nyingine",
    "The card was removed.": "Kadi imeondolewa.", "Back to the card": "Rudi kwenye kadi",
    "The last automatic top-up failed: %(reason)s. It waits until you save a card or turn it on again.":
        "Kuongeza salio kiotomatiki kwa mara ya mwisho kumeshindwa: %(reason)s. Kunasubiri uhifadhi kadi au ukiwashe tena.",
    "Top up automatically": "Ongeza salio kiotomatiki",
    "Top up automatically from a card": "Ongeza salio kiotomatiki kutoka kadi",
    "Top up by": "Ongeza salio kwa", "When the balance falls below": "Salio likishuka chini ya",
    "When your balance falls below the threshold, the amount is charged to the saved card once.":
        "Salio lako likishuka chini ya kiwango, kiasi hicho kinatozwa kwenye kadi iliyohifadhiwa mara moja.",
    "Your card details go straight to Stripe, our card processor: Malipo never sees the number. Stripe may ask your bank to confirm.":
        "Taarifa za kadi yako zinakwenda moja kwa moja kwa Stripe, mchakataji wetu wa kadi: Malipo haioni namba. Stripe inaweza kuomba benki yako ithibitishe.",
    "e.g. 50000": "mf. 50000",
}  # fmt: skip


def main() -> None:
    import sys
    from pathlib import Path

    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po, write_po

    here = Path(__file__).resolve().parent
    with open(sys.argv[1], "rb") as template:
        catalog = read_po(template, locale="sw")
    missing = []
    for message in catalog:
        if message.id:
            message.string = SW.get(message.id, "")
            if not message.string:
                missing.append(message.id)
    folder = here / "translations" / "sw" / "LC_MESSAGES"
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "messages.po", "wb") as po:
        write_po(po, catalog, width=100)
    with open(folder / "messages.mo", "wb") as mo:
        write_mo(mo, catalog)
    print("untranslated:", missing)


if __name__ == "__main__":
    main()
