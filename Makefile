# virt-macvtap: the two commands a user needs are `make demo` (main job, end to end) and
# `make test` (every test). Both install what they need first (scripts/setup is idempotent).
PREFIX ?= /usr/local
CONFIGURATION ?= release
# Release binaries link the Swift runtime statically: about 5 ms less start-up per run.
STATIC ?= --static-swift-stdlib
SWIFT ?= swift
CORPUS_DIR = $(CURDIR)/.corpus/libvirt
# The one definition is Versions.tool (Sources/MacvtapLint/Versions.swift); scripts/version reads it.
VERSION := $(shell scripts/version)
ARCH := $(shell dpkg --print-architecture)
DEB = dist/virt-macvtap_$(VERSION)_$(ARCH).deb
TARBALL = dist/virt-macvtap-$(VERSION)-linux-$(ARCH).tar.gz

.PHONY: setup build demo test install corpus docs clean sandbox fuzz sanitize oracle deb dist image format

setup:
	scripts/setup

build: setup
	$(SWIFT) build

# The main job: the sandbox (real libvirtd + QEMU guests), the seed command, list, ping, detach,
# the mode matrix, then the offline commands on Examples/.
demo: build sandbox
	scripts/demo-live
	scripts/demo

corpus: setup
	scripts/fetch-libvirt-corpus >/dev/null
	scripts/fetch-world-corpus >/dev/null

# The whole suite (scripts/test; it stops what it started): unit tests, the libvirt 9.0.0 corpus (round trip, spans, edits), the CLI
# against real files, an install into a scratch prefix, and the live commands against a real
# libvirtd + QEMU guests (scripts/sandbox up; it fails the run if the sandbox cannot start);
# then the oracle (every lint claim against the sandbox's libvirtd, on its own because it uses
# the same uplinks), 10,000 files linted in bounded memory, and a 60-second fuzzing smoke run.
# The sandbox includes a second libvirt host (qemu+tcp://198.51.100.2/system); the ledger tests run
# on SQLite and on a private PostgreSQL server started here.
test: setup corpus
	SWIFT=$(SWIFT) scripts/test

# Packages that need no Swift toolchain (scripts/package, scripts/image; README "Install").
deb: setup
	scripts/package deb

dist: setup
	scripts/package dist

image: deb
	scripts/image $(DEB)

# Fuzzing for longer (seconds; seeds include libvirt's test domains), then keep what it grew.
FUZZ_SECONDS ?= 1800
fuzz: corpus
	scripts/fuzz run $(FUZZ_SECONDS) all

# The whole suite under AddressSanitizer + LeakSanitizer (see docs/RELIABILITY.md).
sanitize: setup corpus sandbox
	VIRT_MACVTAP_CORPUS=$(CORPUS_DIR) VIRT_MACVTAP_SANDBOX=1 scripts/sanitize

# libvirtd + vm1/vm2 (Linux), vm-noos, vm-off in network namespace vmtap; `scripts/sandbox down` undoes it.
sandbox:
	scripts/sandbox up

# Installs the binary, the schemas it looks for (bin/ and share/virt-macvtap/schemas/), the man
# page virt-macvtap(1) (swift-argument-parser's generate-manual plugin, from the commands' own
# help: exit codes and examples included) and bash, zsh and fish completions.
MANUAL_DIR = .build/plugins/GenerateManual/outputs/virt-macvtap
# The manual plugin builds the tool without --static-swift-stdlib: it runs first, from a debug
# build (same help text), so it never overwrites the static release binary installed below.
install:
	$(SWIFT) package --allow-writing-to-package-directory generate-manual --configuration debug >/dev/null 2>&1
	$(SWIFT) build -c $(CONFIGURATION) $(STATIC)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/virt-macvtap/schemas $(DESTDIR)$(PREFIX)/share/man/man1 \
	  $(DESTDIR)$(PREFIX)/share/bash-completion/completions $(DESTDIR)$(PREFIX)/share/zsh/site-functions \
	  $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d
	install -m 0755 "$$($(SWIFT) build -c $(CONFIGURATION) $(STATIC) --show-bin-path)/virt-macvtap" $(DESTDIR)$(PREFIX)/bin/
	install -m 0644 Schemas/*.rng $(DESTDIR)$(PREFIX)/share/virt-macvtap/schemas/
	# libvirt's own schemas, one directory per release (scripts/fetch-libvirt-schemas), with their licence.
	for release in Schemas/libvirt/*/; do \
	  install -d $(DESTDIR)$(PREFIX)/share/virt-macvtap/schemas/libvirt/$$(basename $$release); \
	  install -m 0644 $$release* $(DESTDIR)$(PREFIX)/share/virt-macvtap/schemas/libvirt/$$(basename $$release)/; \
	done
	# mdoc warns about the blank lines the commands' discussions carry.
	sed '/^$$/d' $(MANUAL_DIR)/virt-macvtap.1 > $(DESTDIR)$(PREFIX)/share/man/man1/virt-macvtap.1
	chmod 0644 $(DESTDIR)$(PREFIX)/share/man/man1/virt-macvtap.1
	$(DESTDIR)$(PREFIX)/bin/virt-macvtap --generate-completion-script bash > $(DESTDIR)$(PREFIX)/share/bash-completion/completions/virt-macvtap
	$(DESTDIR)$(PREFIX)/bin/virt-macvtap --generate-completion-script zsh > $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_virt-macvtap
	$(DESTDIR)$(PREFIX)/bin/virt-macvtap --generate-completion-script fish > $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/virt-macvtap.fish

# docs/LIBVIRT-PARITY.md: every oracle case through the sandbox's libvirtd and through lint.
oracle: setup corpus sandbox
	scripts/oracle

# docs/rules.md is generated from the rule descriptions; a test fails when it is stale.
docs: build
	"$$($(SWIFT) build --show-bin-path)/virt-macvtap" lint --list-rules --markdown > docs/rules.md
	$(SWIFT) package generate-documentation --target MacvtapKit --warnings-as-errors

# The code style (.swift-format, swift-format from the toolchain); make test checks it.
format:
	$(SWIFT) format format --in-place --configuration .swift-format -r Sources Tests Package.swift

clean:
	rm -rf .build dist
