import io
import multiprocessing
from datetime import date
from decimal import Decimal

import pytest

from backend.payments import statements
from backend.payments.statements import (
    CreditDebit,
    StatementError,
    parse_camt053,
    parse_mt940,
    parse_statement,
    parse_statement_apart,
)

# A day statement as a German savings bank sends it (camt.053.001.02): a single credit quoting a payment
# reference, a batch credit with two transfers, a direct debit, a credit with an ISO 11649 creditor
# reference and without bank reference, and a returned credit.
CAMT_002 = """<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"
          xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <BkToCstmrStmt>
    <GrpHdr><MsgId>camt53_20240313_0001</MsgId><CreDtTm>2024-03-14T05:12:09.0+01:00</CreDtTm></GrpHdr>
    <Stmt>
      <Id>0352024031300001</Id>
      <ElctrncSeqNb>52</ElctrncSeqNb>
      <CreDtTm>2024-03-14T05:12:09.0+01:00</CreDtTm>
      <Acct>
        <Id><IBAN>DE02120300000000202051</IBAN></Id><Ccy>EUR</Ccy>
        <Svcr><FinInstnId><BIC>BYLADEM1001</BIC></FinInstnId></Svcr>
      </Acct>
      <Bal><Tp><CdOrPrtry><Cd>PRCD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">1000.00</Amt>
        <CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2024-03-12</Dt></Dt></Bal>
      <Ntry>
        <Amt Ccy="EUR">119.90</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>
        <BookgDt><Dt>2024-03-13</Dt></BookgDt><ValDt><Dt>2024-03-13</Dt></ValDt>
        <AcctSvcrRef>2024031300047</AcctSvcrRef>
        <BkTxCd><Prtry><Cd>NTRF+166+9310</Cd><Issr>DK</Issr></Prtry></BkTxCd>
        <NtryDtls><TxDtls>
          <Refs><EndToEndId>NOTPROVIDED</EndToEndId></Refs>
          <AmtDtls><TxAmt><Amt Ccy="EUR">119.90</Amt></TxAmt></AmtDtls>
          <RltdPties>
            <Dbtr><Nm>Müller, Anna</Nm></Dbtr>
            <DbtrAcct><Id><IBAN>DE89370400440532013000</IBAN></Id></DbtrAcct>
          </RltdPties>
          <RmtInf><Ustrd>Rechnung RE-10023 CB-7K4Q-</Ustrd><Ustrd>2 Danke</Ustrd></RmtInf>
          <AddtlTxInf>SEPA Gutschrift</AddtlTxInf>
        </TxDtls></NtryDtls>
        <AddtlNtryInf>GUTSCHR. UEBERWEISUNG</AddtlNtryInf>
      </Ntry>
      <Ntry>
        <Amt Ccy="EUR">80.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>
        <BookgDt><Dt>2024-03-13</Dt></BookgDt><ValDt><Dt>2024-03-13</Dt></ValDt>
        <AcctSvcrRef>2024031300048</AcctSvcrRef>
        <NtryDtls><Btch><NbOfTxs>2</NbOfTxs></Btch>
          <TxDtls>
            <Refs><EndToEndId>E2E-1</EndToEndId></Refs>
            <AmtDtls><TxAmt><Amt Ccy="EUR">30.00</Amt></TxAmt></AmtDtls>
            <RltdPties><Dbtr><Nm>Jonas Weber</Nm></Dbtr></RltdPties>
            <RmtInf><Ustrd>Bestellung 500017</Ustrd></RmtInf>
          </TxDtls>
          <TxDtls>
            <Refs><EndToEndId>E2E-2</EndToEndId></Refs>
            <AmtDtls><TxAmt><Amt Ccy="EUR">50.00</Amt></TxAmt></AmtDtls>
            <RltdPties><UltmtDbtr><Nm>Lea Koch</Nm></UltmtDbtr></RltdPties>
            <RmtInf><Ustrd>Bestellung 500018</Ustrd></RmtInf>
          </TxDtls>
        </NtryDtls>
      </Ntry>
      <Ntry>
        <Amt Ccy="EUR">1450.00</Amt><CdtDbtInd>DBIT</CdtDbtInd><Sts>BOOK</Sts>
        <BookgDt><Dt>2024-03-13</Dt></BookgDt><ValDt><Dt>2024-03-13</Dt></ValDt>
        <AcctSvcrRef>2024031300049</AcctSvcrRef>
        <NtryDtls><TxDtls>
          <RltdPties>
            <Cdtr><Nm>Hausverwaltung Nord GmbH</Nm></Cdtr>
            <CdtrAcct><Id><IBAN>DE75512108001245126199</IBAN></Id></CdtrAcct>
          </RltdPties>
          <RmtInf><Ustrd>Miete Maerz 2024</Ustrd></RmtInf>
        </TxDtls></NtryDtls>
      </Ntry>
      <Ntry>
        <Amt Ccy="EUR">49.95</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>
        <BookgDt><DtTm>2024-03-13T10:15:00+01:00</DtTm></BookgDt>
        <NtryDtls><TxDtls>
          <RltdPties><Dbtr><Nm>Schmidt GmbH</Nm></Dbtr></RltdPties>
          <RmtInf><Strd><CdtrRefInf><Tp><CdOrPrtry><Cd>SCOR</Cd></CdOrPrtry></Tp>
            <Ref>RF18539007547034</Ref></CdtrRefInf></Strd></RmtInf>
        </TxDtls></NtryDtls>
      </Ntry>
      <Ntry>
        <Amt Ccy="EUR">25.00</Amt><CdtDbtInd>DBIT</CdtDbtInd><RvslInd>true</RvslInd><Sts>BOOK</Sts>
        <BookgDt><Dt>2024-03-13</Dt></BookgDt>
        <AcctSvcrRef>2024031300051</AcctSvcrRef>
        <NtryDtls><TxDtls><RmtInf><Ustrd>Rueckbuchung Gutschrift</Ustrd></RmtInf></TxDtls></NtryDtls>
      </Ntry>
    </Stmt>
  </BkToCstmrStmt>
</Document>
"""

# camt.053.001.08 names the party inside Pty, the status inside Cd and puts Amt directly in TxDtls.
CAMT_008 = """<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08">
  <BkToCstmrStmt>
    <GrpHdr><MsgId>M8</MsgId><CreDtTm>2024-03-14T06:00:00Z</CreDtTm></GrpHdr>
    <Stmt>
      <Id>STMT-8</Id>
      <Acct><Id><IBAN>DE02 1203 0000 0000 2020 51</IBAN></Id></Acct>
      <Ntry>
        <Amt Ccy="EUR">59.99</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>
        <BookgDt><Dt>2024-03-13</Dt></BookgDt><ValDt><Dt>2024-03-14</Dt></ValDt>
        <NtryDtls><TxDtls>
          <Refs><AcctSvcrRef>TX-8-1</AcctSvcrRef><EndToEndId>cb7k4q2</EndToEndId></Refs>
          <Amt Ccy="EUR">59.99</Amt>
          <RltdPties>
            <Dbtr><Pty><Nm>Özlem Y\u0131lmaz</Nm></Pty></Dbtr>
            <DbtrAcct><Id><IBAN>AT611904300234573201</IBAN></Id></DbtrAcct>
          </RltdPties>
        </TxDtls></NtryDtls>
      </Ntry>
      <Ntry>
        <Amt Ccy="EUR">10.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>PDNG</Cd></Sts>
        <BookgDt><Dt>2024-03-13</Dt></BookgDt>
      </Ntry>
    </Stmt>
  </BkToCstmrStmt>
</Document>
"""

# An MT940 day statement as German banks send it: structured :86: with GVC, ?20-?29 purpose (EREF+/SVWZ+),
# ?30/?31 BIC and IBAN, ?32/?33 name; a reference wrapped across ?21/?22; a debit; an unstructured :86:.
MT940 = """:20:STARTUMSE
:25:12030000/0000202051
:28C:00052/001
:60F:C240312EUR1000,00
:61:2403130313C119,90NTRFNONREF//2024031300047
:86:166?00SEPA-GUTSCHRIFT?109310?20EREF+NOTPROVIDED?21SVWZ+Rechnung RE-10023 CB-7
?22K4Q-2 Danke?30COBADEFFXXX?31DE89370400440532013000?32Müller-Lüdenscheidt, Anna-Ma?33ria
:61:2403130313D1450,00NDDTNONREF//2024031300049
:86:105?00SEPA-LASTSCHRIFT?20EREF+M-2024-03?21SVWZ+Miete Maerz 2024?32Hausverwaltung Nord GmbH
:61:2403130313C30,00NTRFNONREF
:86:Bestellung 500017 Jonas Weber
:61:2403130313C30,00NTRFNONREF
:86:Bestellung 500017 Jonas Weber
:62F:D240313EUR270,10
-
"""


class TestCamt053:
    def test_reads_a_single_credit(self):
        credit = next(parse_camt053(CAMT_002.encode()))

        assert credit.account == "DE02120300000000202051"
        assert credit.statement_id == "0352024031300001"
        assert credit.bank_reference == "2024031300047"
        assert credit.booking_date == date(2024, 3, 13)
        assert credit.value_date == date(2024, 3, 13)
        assert credit.amount == Decimal("119.90")
        assert credit.currency == "EUR"
        assert credit.credit_debit is CreditDebit.CREDIT
        assert credit.counterparty_name == "Müller, Anna"
        assert credit.counterparty_iban == "DE89370400440532013000"
        assert credit.remittance == "Rechnung RE-10023 CB-7K4Q- 2 Danke"
        assert credit.end_to_end_id == ""
        assert credit.additional_info == "GUTSCHR. UEBERWEISUNG SEPA Gutschrift"
        assert credit.is_incoming_payment

    def test_splits_a_batch_entry_into_its_transfers(self):
        batch = list(parse_camt053(CAMT_002.encode()))[1:3]

        assert [t.amount for t in batch] == [Decimal("30.00"), Decimal("50.00")]
        assert [t.bank_reference for t in batch] == ["2024031300048/1", "2024031300048/2"]
        assert [t.counterparty_name for t in batch] == ["Jonas Weber", "Lea Koch"]
        assert [t.end_to_end_id for t in batch] == ["E2E-1", "E2E-2"]
        assert batch[0].transaction_id != batch[1].transaction_id

    def test_reads_debits_creditor_references_and_reversals(self):
        debit, structured, reversal = list(parse_camt053(CAMT_002.encode()))[3:]

        assert debit.credit_debit is CreditDebit.DEBIT
        assert debit.counterparty_name == "Hausverwaltung Nord GmbH"
        assert debit.counterparty_iban == "DE75512108001245126199"
        assert not debit.is_incoming_payment
        assert structured.creditor_reference == "RF18539007547034"
        assert structured.booking_date == date(2024, 3, 13)
        assert structured.bank_reference == ""
        assert reversal.reversal
        assert not reversal.is_incoming_payment

    def test_reads_version_008_parties_and_status(self):
        booked, pending = parse_camt053(CAMT_008.encode())

        assert booked.account == "DE02120300000000202051"
        assert booked.counterparty_name == "Özlem Y\u0131lmaz"
        assert booked.counterparty_iban == "AT611904300234573201"
        assert booked.end_to_end_id == "cb7k4q2"
        assert booked.bank_reference == "TX-8-1"
        assert booked.value_date == date(2024, 3, 14)
        assert not pending.booked
        assert not pending.is_incoming_payment

    def test_gives_the_same_ids_on_every_import(self):
        first = [t.transaction_id for t in parse_camt053(CAMT_002.encode())]
        second = [t.transaction_id for t in parse_camt053(io.BytesIO(CAMT_002.encode()))]

        assert first == second
        assert len(set(first)) == len(first)

    def test_reads_from_a_path(self, tmp_path):
        path = tmp_path / "statement.xml"
        path.write_text(CAMT_002, encoding="utf-8")

        assert len(list(parse_statement(path))) == 6

    def test_rejects_xml_with_a_document_type_declaration(self):
        bomb = (
            '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
            '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><x>&lol2;</x></Document>'
        )

        with pytest.raises(StatementError, match="forbidden XML"):
            list(parse_camt053(bomb.encode()))

    def test_rejects_other_documents(self):
        other = CAMT_002.replace("camt.053.001.02", "camt.052.001.02")

        with pytest.raises(StatementError, match=r"not a camt\.053 document"):
            list(parse_camt053(other.encode()))

    def test_reports_line_and_column_of_malformed_xml(self):
        broken = CAMT_002.replace("<Sts>BOOK</Sts>", "<Sts>BOOK</Stss>", 1)

        with pytest.raises(StatementError) as error:
            list(parse_camt053(broken.encode()))

        assert error.value.location == "line 17, column 73"

    def test_reports_the_element_path_of_a_missing_field(self):
        second_entry = "<AcctSvcrRef>2024031300048</AcctSvcrRef>"
        broken = CAMT_002.replace(
            f"<BookgDt><Dt>2024-03-13</Dt></BookgDt><ValDt><Dt>2024-03-13</Dt></ValDt>\n        {second_entry}",
            second_entry,
        )

        with pytest.raises(StatementError, match="date missing") as error:
            list(parse_camt053(broken.encode()))

        assert error.value.location == "Document[1]/BkToCstmrStmt[1]/Stmt[1]/Ntry[2]/BookgDt"

    def test_reports_an_invalid_amount(self):
        broken = CAMT_002.replace('<Amt Ccy="EUR">1450.00</Amt>', '<Amt Ccy="EUR">1.450,00</Amt>')

        with pytest.raises(StatementError, match="invalid amount") as error:
            list(parse_camt053(broken.encode()))

        assert error.value.location.endswith("Ntry[3]/Amt")

    def test_rejects_a_truncated_file(self):
        with pytest.raises(StatementError, match="malformed XML"):
            list(parse_camt053(CAMT_002[:3000].encode()))

    @pytest.mark.parametrize("chunk", [7, 100])
    def test_reads_the_same_in_any_chunk_size(self, chunk, monkeypatch):
        statement = CAMT_002[CAMT_002.index("<Stmt>") : CAMT_002.index("</Stmt>") + len("</Stmt>")]
        next_day = statement.replace("0352024031300001", "0352024031300002")
        two_statements = CAMT_002.replace(statement, statement + next_day)
        whole = list(parse_camt053(two_statements.encode()))

        monkeypatch.setattr(statements, "_CHUNK", chunk)

        assert list(parse_camt053(two_statements.encode())) == whole
        assert [t.statement_id for t in whole] == ["0352024031300001"] * 6 + ["0352024031300002"] * 6

    @pytest.mark.parametrize("chunk", [7, 100])
    def test_locations_count_entries_across_chunks(self, chunk, monkeypatch):
        broken = CAMT_002.replace('<Amt Ccy="EUR">1450.00</Amt>', '<Amt Ccy="EUR">1.450,00</Amt>')
        monkeypatch.setattr(statements, "_CHUNK", chunk)

        with pytest.raises(StatementError, match="invalid amount") as error:
            list(parse_camt053(broken.encode()))

        assert error.value.location == "Document[1]/BkToCstmrStmt[1]/Stmt[1]/Ntry[3]/Amt"


class TestMt940:
    def test_reads_structured_german_details(self):
        credit = parse_mt940(MT940.encode())[0]

        assert credit.account == "12030000/0000202051"
        assert credit.statement_id == "STARTUMSE/00052"
        assert credit.bank_reference == "2024031300047"
        assert credit.booking_date == date(2024, 3, 13)
        assert credit.amount == Decimal("119.90")
        assert credit.currency == "EUR"
        assert credit.credit_debit is CreditDebit.CREDIT
        assert credit.counterparty_name == "Müller-Lüdenscheidt, Anna-Ma ria"
        assert credit.counterparty_iban == "DE89370400440532013000"
        assert "CB-7 K4Q-2" in credit.remittance
        assert credit.end_to_end_id == ""
        assert credit.is_incoming_payment

    def test_reads_debits_and_unstructured_details(self):
        _, debit, unstructured, _ = parse_mt940(MT940.encode())

        assert debit.credit_debit is CreditDebit.DEBIT
        assert debit.amount == Decimal("1450.00")
        assert debit.end_to_end_id == "M-2024-03"
        assert debit.remittance == "Miete Maerz 2024"
        assert unstructured.remittance == "Bestellung 500017 Jonas Weber"

    def test_keeps_identical_transfers_apart_and_ids_stable(self):
        first = [t.transaction_id for t in parse_mt940(MT940.encode())]
        second = [t.transaction_id for t in parse_mt940(MT940)]

        assert first == second
        assert len(set(first)) == 4  # the two identical 30.00 credits stay two transactions

    def test_reads_windows_1252_files(self):
        credit = parse_mt940(MT940.encode("cp1252"))[0]

        assert credit.counterparty_name.startswith("Müller-Lüdenscheidt")

    def test_reports_the_line_of_a_malformed_statement_line(self):
        broken = MT940.replace(":61:2403130313D1450,00", ":61:24031X0313D1450,00")

        with pytest.raises(StatementError, match="malformed MT940") as error:
            parse_mt940(broken)

        assert error.value.location == "line 8"

    def test_reports_a_malformed_balance_amount(self):
        with pytest.raises(StatementError, match="malformed MT940"):
            parse_mt940(MT940.replace(":62F:D240313EUR270,10", ":62F:C240313EUR-270,10"))

    def test_rejects_text_without_statement(self):
        with pytest.raises(StatementError, match="no MT940 statement"):
            parse_mt940(b"hello world")


class TestParseStatement:
    def test_tells_camt053_from_mt940(self):
        assert len(list(parse_statement(CAMT_002.encode()))) == 6
        assert len(list(parse_statement(MT940.encode()))) == 4

    def test_rejects_other_files(self):
        with pytest.raises(StatementError, match="neither"):
            parse_statement(b"%PDF-1.7")


class TestParseStatementApart:
    """The parse in a process of its own gives what the parse in this one gives, errors included."""

    @pytest.mark.parametrize("text", [CAMT_002, MT940], ids=["camt053", "mt940"])
    def test_gives_the_same_transactions_from_a_file(self, text, tmp_path):
        path = tmp_path / "statement"
        path.write_text(text, encoding="utf-8")

        with path.open("rb") as stream:
            apart = list(parse_statement_apart(stream))

        assert apart == list(parse_statement(text.encode())) and len(apart) in (4, 6)

    def test_streams_batches_of_a_large_statement_in_order(self, monkeypatch):
        monkeypatch.setattr(statements, "_APART_BATCH", 2)  # the child is forked: it sees the patch

        assert list(parse_statement_apart(CAMT_002.encode())) == list(parse_statement(CAMT_002.encode()))

    def test_reports_an_error_after_the_transactions_before_it(self, monkeypatch):
        monkeypatch.setattr(statements, "_APART_BATCH", 1)
        broken = CAMT_002.replace('<Amt Ccy="EUR">1450.00</Amt>', '<Amt Ccy="EUR">1.450,00</Amt>')
        read = []

        with pytest.raises(StatementError, match="invalid amount") as error:
            read.extend(parse_statement_apart(broken.encode()))

        assert error.value.location.endswith("Ntry[3]/Amt")
        assert read == list(parse_statement(CAMT_002.encode()))[: len(read)] and len(read) == 3

    @pytest.mark.parametrize("text", [CAMT_002, MT940], ids=["camt053", "mt940"])
    def test_tells_this_process_how_far_the_child_has_read(self, text, monkeypatch, tmp_path):
        monkeypatch.setattr(statements, "_APART_BATCH", 1)
        monkeypatch.setattr(statements, "_CHUNK", 512)  # camt.053 is read in several chunks
        path = tmp_path / "statement"
        path.write_bytes(text.encode())
        positions = []

        with path.open("rb") as stream:
            apart = list(parse_statement_apart(stream, on_read=positions.append))

        # Only calls made in this process reach this list.
        assert apart == list(parse_statement(text.encode()))
        assert positions == sorted(set(positions)) and positions[-1] == len(text.encode())
        assert len(positions) > 1 or text is MT940

    def test_refuses_other_files(self):
        with pytest.raises(StatementError, match="neither"):
            list(parse_statement_apart(b"%PDF-1.7"))

    def test_a_caller_that_stops_early_ends_the_child(self, monkeypatch):
        monkeypatch.setattr(statements, "_APART_BATCH", 1)
        transactions = parse_statement_apart(CAMT_002.encode())

        first = next(transactions)
        transactions.close()

        assert first == next(parse_statement(CAMT_002.encode()))
        assert multiprocessing.active_children() == []
