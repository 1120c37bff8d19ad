"""virt-macvtap lsp driven end to end by a real LSP client (pytest-lsp over pygls).

Run by scripts/check-lsp (part of `make test`) with VIRT_MACVTAP=<binary>: initialize, open,
change, diagnostics with positions and related locations, code actions applied (a safe one, the
fix-all action, and a fix that draws a MAC from the ledger only when it is applied), hover,
completion, a document that is not XML, shutdown.
"""
import asyncio
import json
import os
import pathlib
import subprocess
import time

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

BINARY = os.environ["VIRT_MACVTAP"]
WORKSPACE = pathlib.Path(os.environ["VIRT_MACVTAP_LSP_WORKSPACE"])
LEDGER = WORKSPACE.parent / "ledger.sqlite"

WEB = """<domain type='kvm'>
  <name>web</name>
  <memory>65536</memory>
  <os><type arch='x86_64'>hvm</type></os>
  <devices>
    <interface type='direct'>
      <mac address='52:54:00:aa:00:01'/>
      <source dev='eth0' mode='VEPA'/>
      <model type='virtio'/>
    </interface>
  </devices>
</domain>
"""
# A second domain in the workspace, not open, with the same MAC: a cross-file finding.
DB = WEB.replace("<name>web</name>", "<name>db</name>").replace("mode='VEPA'", "mode='bridge'")


def uri(name: str) -> str:
    return (WORKSPACE / name).as_uri()


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[BINARY, "lsp", "--ledger", str(LEDGER)]))
async def client(lsp_client: LanguageClient):
    WORKSPACE.mkdir(parents=True, exist_ok=True)
    (WORKSPACE / "web.xml").write_text(WEB)
    (WORKSPACE / "db.xml").write_text(DB)
    applied = []
    lsp_client.applied_edits = applied

    @lsp_client.feature(types.WORKSPACE_APPLY_EDIT)
    def apply_edit(params: types.ApplyWorkspaceEditParams):
        applied.append(params.edit)
        return types.ApplyWorkspaceEditResult(applied=True)

    await lsp_client.initialize_session(
        types.InitializeParams(
            capabilities=types.ClientCapabilities(),
            root_uri=WORKSPACE.as_uri(),
            workspace_folders=[types.WorkspaceFolder(uri=WORKSPACE.as_uri(), name="fleet")],
        )
    )
    yield
    await lsp_client.shutdown_session()


def by_code(diagnostics, code):
    return [d for d in diagnostics if d.code == code]


async def open_web(client: LanguageClient, text: str = WEB):
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=uri("web.xml"), language_id="xml", version=1, text=text)
        )
    )
    await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    return client.diagnostics[uri("web.xml")]


async def test_diagnostics_have_lints_positions_and_related_files(client: LanguageClient):
    diagnostics = await open_web(client)
    mode = by_code(diagnostics, "source-mode-invalid")
    assert len(mode) == 1, diagnostics
    # Line 8 of the file, the attribute mode='VEPA' (0-based line 7, from its name to its quote).
    assert mode[0].range.start == types.Position(line=7, character=25)
    assert mode[0].range.end == types.Position(line=7, character=36)
    assert mode[0].severity == types.DiagnosticSeverity.Error
    assert "libvirt rejects this at define" in mode[0].message
    # The same MAC in db.xml, which is only on disk: the workspace's other files count, and the
    # finding (lint puts it in db.xml) shows here too, pointing there.
    duplicate = by_code(diagnostics, "mac-duplicate-across-domains")
    assert len(duplicate) == 1, diagnostics
    assert duplicate[0].range.start.line == 6, duplicate
    assert duplicate[0].related_information[0].location.uri == uri("db.xml")
    # The command line says the same.
    lint = subprocess.run([BINARY, "lint", "--no-cache", "--format", "json", str(WORKSPACE)], capture_output=True, text=True)
    assert '"source-mode-invalid"' in lint.stdout and '"mac-duplicate-across-domains"' in lint.stdout


async def test_a_change_is_linted_after_a_pause(client: LanguageClient):
    await open_web(client)
    fixed = WEB.replace("mode='VEPA'", "mode='bridge'").replace("aa:00:01", "aa:00:02")
    started = time.monotonic()
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri("web.xml"), version=2),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=fixed)],
        )
    )
    await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    assert time.monotonic() - started >= 0.14  # debounced
    diagnostics = client.diagnostics[uri("web.xml")]
    assert not by_code(diagnostics, "source-mode-invalid") and not by_code(diagnostics, "mac-duplicate-across-domains"), diagnostics


async def test_a_safe_fix_and_fix_all(client: LanguageClient):
    diagnostics = await open_web(client)
    mode = by_code(diagnostics, "source-mode-invalid")[0]
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri("web.xml")),
            range=mode.range,
            context=types.CodeActionContext(diagnostics=[mode]),
        )
    )
    quick = [a for a in actions if a.kind == types.CodeActionKind.QuickFix and a.edit]
    assert quick and quick[0].is_preferred, actions
    edits = quick[0].edit.changes[uri("web.xml")]
    assert [(e.range.start.line, e.new_text) for e in edits] == [(7, "vepa")], edits
    fix_all = [a for a in actions if a.kind == "source.fixAll.virt-macvtap"]
    assert len(fix_all) == 1
    fixed = fix_all[0].edit.changes[uri("web.xml")][0].new_text
    assert "mode='vepa'" in fixed and "mode='VEPA'" not in fixed


async def test_a_new_mac_is_drawn_from_the_ledger_only_when_applied(client: LanguageClient):
    # A VMware MAC in a KVM domain: the fix is a new MAC, drawn when the fix is applied.
    diagnostics = await open_web(client, WEB.replace("52:54:00:aa:00:01", "00:50:56:12:34:56"))
    duplicate = by_code(diagnostics, "mac-foreign-oui")[0]
    before = subprocess.run([BINARY, "mac", "list", "--ledger", str(LEDGER)], capture_output=True, text=True).stdout
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri("web.xml")),
            range=duplicate.range,
            context=types.CodeActionContext(diagnostics=[duplicate]),
        )
    )
    # lsprotocol reads a code action whose `command` is set as either type; take the Command.
    commands = [a.command if isinstance(a, types.CodeAction) else a for a in actions]
    deferred = [c for c in commands if isinstance(c, types.Command) and c.command == "virt-macvtap.applyFix"]
    assert deferred and "unsafe" in deferred[0].title, actions
    # Offering the action recorded nothing.
    assert subprocess.run([BINARY, "mac", "list", "--ledger", str(LEDGER)], capture_output=True, text=True).stdout == before
    await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command=deferred[0].command, arguments=deferred[0].arguments)
    )
    assert client.applied_edits, "no workspace/applyEdit"
    new_mac = client.applied_edits[0].changes[uri("web.xml")][0].new_text
    assert new_mac.startswith("52:54:00:") and new_mac != "52:54:00:aa:00:01", new_mac
    listed = subprocess.run([BINARY, "mac", "list", "--ledger", str(LEDGER)], capture_output=True, text=True).stdout
    assert new_mac in listed and "lsp fix:" in listed, listed


async def test_hover_and_completion(client: LanguageClient):
    diagnostics = await open_web(client)
    mode = by_code(diagnostics, "source-mode-invalid")[0]
    hover = await client.text_document_hover_async(
        types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri("web.xml")), position=mode.range.start)
    )
    assert "source-mode-invalid" in hover.contents.value and "libvirt" in hover.contents.value
    items = await client.text_document_completion_async(
        types.CompletionParams(
            text_document=types.TextDocumentIdentifier(uri=uri("web.xml")),
            position=types.Position(line=7, character=31),  # just after mode='
        )
    )
    labels = {item.label for item in (items.items if hasattr(items, "items") else items)}
    assert labels == {"vepa", "bridge", "private", "passthrough"}, labels


async def test_a_document_that_is_not_xml_is_a_diagnostic_and_the_server_goes_on(client: LanguageClient):
    diagnostics = await open_web(client, text="<domain><name>broken</name>")
    assert by_code(diagnostics, "xml-malformed"), diagnostics
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri("web.xml"), version=2),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=WEB)],
        )
    )
    await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    assert by_code(client.diagnostics[uri("web.xml")], "source-mode-invalid")


HOST_URI = os.environ.get("VIRT_MACVTAP_LSP_HOST_URI")


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[BINARY, "lsp", "--ledger", str(LEDGER)]))
async def client_with_host(lsp_client: LanguageClient):
    workspace = WORKSPACE.parent / "with-host"
    workspace.mkdir(parents=True, exist_ok=True)
    (workspace / ".virt-macvtap.json").write_text(json.dumps({"hosts": {"hv1": {"files": ["*.xml"], "uri": HOST_URI}}}))
    await lsp_client.initialize_session(
        types.InitializeParams(capabilities=types.ClientCapabilities(), root_uri=workspace.as_uri())
    )
    lsp_client.workspace = workspace
    yield
    await lsp_client.shutdown_session()


@pytest.mark.skipif(HOST_URI is None, reason="no libvirt host (scripts/check-lsp sets one when the sandbox is up)")
async def test_dev_completion_comes_from_the_configured_host(client_with_host: LanguageClient):
    client = client_with_host
    text = "<domain type='kvm'><name>x</name><devices><interface type='direct'><source dev='"
    document = (client.workspace / "new.xml").as_uri()
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(text_document=types.TextDocumentItem(uri=document, language_id="xml", version=1, text=text))
    )
    labels = set()
    for _ in range(100):  # the host is scanned in the background
        items = await client.text_document_completion_async(
            types.CompletionParams(
                text_document=types.TextDocumentIdentifier(uri=document), position=types.Position(line=0, character=len(text))
            )
        )
        labels = {item.label for item in (items.items if hasattr(items, "items") else items or [])}
        if labels:
            break
        await asyncio.sleep(0.1)
    assert "eth0" in labels, labels


async def test_network_xml_gets_its_rules(client: LanguageClient):
    network = "<network>\n  <name>lan</name>\n  <forward mode='vepa'>\n  </forward>\n</network>\n"
    document = uri("lan-network.xml")
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(text_document=types.TextDocumentItem(uri=document, language_id="xml", version=1, text=network))
    )
    await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    found = by_code(client.diagnostics[document], "network-no-device")
    assert found and found[0].range.start == types.Position(line=2, character=11), client.diagnostics[document]
