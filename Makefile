# SPDX-License-Identifier: Apache-2.0
# The README's two commands: `make demo` and `make check`. Meson and Ninja do
# the building; this file only names the entry points.
BUILD ?= build
MESON_SETUP = meson setup --werror

.PHONY: all deps check demo bench fuzz clean distclean

all: deps $(BUILD)/main/build.ninja
	ninja -C $(BUILD)/main

deps:
	@scripts/deps.sh

$(BUILD)/main/build.ninja:
	$(MESON_SETUP) $(BUILD)/main

check: deps
	@BUILD=$(BUILD) scripts/check.sh

demo: all
	@BUILD=$(BUILD) scripts/demo.sh

bench: all
	@set -e; for b in bench/*/run.sh; do BUILD=$(BUILD) $$b; done

# libFuzzer builds of every harness in fuzz/ (clang, ASan+UBSan), each run for
# FUZZ_SECONDS on a scratch corpus seeded from fuzz/corpus/<name>/. New
# inputs stay in $(BUILD)/fuzz/corpus; copy the interesting ones to fuzz/corpus.
# Warnings are errors here too: the tree builds clean with clang as with gcc.
FUZZ_SECONDS ?= 30
FUZZ_CC ?= clang-14

fuzz: deps
	@[ -f $(BUILD)/fuzz/build.ninja ] || CC=$(FUZZ_CC) meson setup --werror $(BUILD)/fuzz \
		-Dfuzzing=true -Db_sanitize=address,undefined -Db_lundef=false
	ninja -C $(BUILD)/fuzz
	@set -e; for f in $$(find $(BUILD)/fuzz/fuzz -maxdepth 1 -type f -name 'fuzz_*' -executable | sort); do \
		n=$${f##*/fuzz_}; mkdir -p $(BUILD)/fuzz/corpus/$$n; \
		echo "== fuzz $$n ($(FUZZ_SECONDS) s)"; \
		dict=; case $$n in json|manifest|root|timestamp|snapshot|targets|bundle) \
			dict=-dict=fuzz/dict/json.dict ;; esac; \
		$$f $$dict -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -timeout=10 -rss_limit_mb=1024 \
			-print_final_stats=1 $(BUILD)/fuzz/corpus/$$n fuzz/corpus/$$n \
			>$(BUILD)/fuzz/fuzz-$$n.log 2>&1 || { tail -40 $(BUILD)/fuzz/fuzz-$$n.log; exit 1; }; \
		grep -E '^stat::(number_of_executed_units|new_units_added)' $(BUILD)/fuzz/fuzz-$$n.log; \
	done

clean:
	rm -rf $(BUILD)/main $(BUILD)/asan $(BUILD)/fuzz

# Also drops the downloaded kernels and packages in $(BUILD)/cache.
distclean:
	rm -rf $(BUILD)
