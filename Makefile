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

clean:
	rm -rf $(BUILD)/main $(BUILD)/asan $(BUILD)/fuzz

# Also drops the downloaded kernels and packages in $(BUILD)/cache.
distclean:
	rm -rf $(BUILD)
