"""TRA's Virtual Fiscal Device (VFD/EFDMS) web API: receipts, signing, ACKs, the client.

The wire formats follow shared/reference/invoicing.md part (b). XML is built as exact
compact strings because TRA verifies the signature over the bytes as sent.
"""
