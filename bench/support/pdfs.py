"""PDFs the benchmarks sign and verify."""

from __future__ import annotations


def make_pdf(pages: int) -> bytes:
    """A plain record of `pages` pages of Latin text (fpdf2)."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("helvetica", size=11)
    for i in range(pages):
        pdf.add_page()
        pdf.cell(0, 10, f"Decision record - page {i + 1}")
        pdf.ln()
        pdf.multi_cell(0, 5, "Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 30)
    return bytes(pdf.output())
