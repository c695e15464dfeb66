# memline -- top-level build.  Everything is built under build/.
#
#   make            tool, preload object, staged Valgrind dir, memline-report, memline
#   make check      unit tests (cmocka) and end-to-end tests under the real Valgrind
#   make demo       profile samples/grow and print its report
#   make bench      speed against --tool=none, Massif, Memcheck, DHAT; trace size and
#                   analyzer speed against heaptrack (not a test; docs/performance.md)
#   make install    PREFIX/bin programs + tool files in Valgrind's own tool directory
#   make uninstall  removes exactly what install put there
#
# Project flags are kept apart from the user's CFLAGS/LDFLAGS, which are appended.

PREFIX     ?= /usr/local
DESTDIR    ?=
PKG_CONFIG ?= pkg-config
CC         ?= cc
CXX        ?= c++
BUILD      := build
V          ?= 0
ifeq ($(V),1)
Q :=
else
Q := @
endif

# ---- Valgrind (the tool is built out of tree against the system's Valgrind)
VG_CFLAGS   := $(shell $(PKG_CONFIG) --cflags valgrind 2>/dev/null)
VG_LIBROOT  := $(shell $(PKG_CONFIG) --variable=libdir valgrind 2>/dev/null)/valgrind
VG_PLATFORM := $(shell $(PKG_CONFIG) --variable=platform valgrind 2>/dev/null)
VG_ARCH     := $(shell $(PKG_CONFIG) --variable=arch valgrind 2>/dev/null)
VG_OS       := $(shell $(PKG_CONFIG) --variable=os valgrind 2>/dev/null)
VG_LOADADDR := $(shell $(PKG_CONFIG) --variable=valt_load_address valgrind 2>/dev/null)
# Where the installed Valgrind looks for tools (Debian: /usr/libexec/valgrind).
VG_TOOLDIR  ?= $(shell valgrind -d --tool=none /bin/true 2>&1 | sed -n 's/.*VG_(libdir) = //p' | head -n1)

TOOL_NAME    := memline-$(VG_PLATFORM)
PRELOAD_NAME := vgpreload_memline-$(VG_PLATFORM).so
STAGE        := $(BUILD)/lib/valgrind

TOOL_CPPFLAGS := $(VG_CFLAGS) -Ivg-tool \
  -DVGA_$(VG_ARCH)=1 -DVGO_$(VG_OS)=1 -DVGP_$(VG_ARCH)_$(VG_OS)=1 \
  -DVGPV_$(VG_ARCH)_$(VG_OS)_vanilla=1
TOOL_CFLAGS := -O2 -g -std=gnu99 -Wall -Wmissing-prototypes -Wshadow \
  -Wpointer-arith -Wstrict-prototypes -Wmissing-declarations \
  -fno-strict-aliasing -fno-builtin -fno-stack-protector -fno-pie \
  -fomit-frame-pointer -fno-asynchronous-unwind-tables
TOOL_LDFLAGS := -static -nodefaultlibs -nostartfiles -u _start \
  -Wl,--build-id=none -Wl,-Ttext-segment=$(VG_LOADADDR) -no-pie
TOOL_LIBS := -L$(VG_LIBROOT) -lcoregrind-$(VG_PLATFORM) -lvex-$(VG_PLATFORM) \
  -lgcc $(VG_LIBROOT)/libgcc-sup-$(VG_PLATFORM).a

TOOL_SRCS := $(wildcard vg-tool/ml_*.c)
TOOL_OBJS := $(patsubst vg-tool/%.c,$(BUILD)/vg-tool/%.o,$(TOOL_SRCS))

# ---- analyzer
XML_CFLAGS := $(shell $(PKG_CONFIG) --cflags libxml-2.0 2>/dev/null)
XML_LIBS   := $(shell $(PKG_CONFIG) --libs libxml-2.0 2>/dev/null)
AN_CPPFLAGS := -Ianalyzer -Ivg-tool $(XML_CFLAGS) -D_GNU_SOURCE
# -flto: the reader's event decoding inlines into the model's loop (half
# of memline-report's time on an allocation-heavy trace is otherwise call
# and record-copy overhead between the two modules).
AN_CFLAGS   := -O2 -g -std=c11 -Wall -Wextra -Wno-unused-parameter -Wshadow \
  -flto=auto
AN_LIBS     := $(XML_LIBS) -lzstd -lm -pthread

AN_LIB_SRCS := $(filter-out analyzer/main.c,$(wildcard analyzer/*.c))
AN_LIB_OBJS := $(patsubst analyzer/%.c,$(BUILD)/analyzer/%.o,$(AN_LIB_SRCS))
AN_LIB      := $(BUILD)/analyzer/libmemline.a

# ---- samples (built with line info, no optimisation, so lines are exact)
SAMPLE_CFLAGS := -g -O0 -fno-omit-frame-pointer -fno-inline
SAMPLES_C   := $(wildcard samples/*.c)
SAMPLES_CXX := $(wildcard samples/*.cc)
SAMPLE_BINS := $(patsubst samples/%.c,$(BUILD)/samples/%,$(SAMPLES_C)) \
               $(patsubst samples/%.cc,$(BUILD)/samples/%,$(SAMPLES_CXX))

# ---- unit tests
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))

PROGRAMS := $(BUILD)/bin/memline-report $(BUILD)/bin/memline

.PHONY: all check unit e2e demo bench install uninstall clean deps tool analyzer samples
all: tool analyzer samples

deps:
	$(Q)sh scripts/setup-deps.sh

tool: $(STAGE)/$(TOOL_NAME) $(STAGE)/$(PRELOAD_NAME) $(STAGE)/.linked
analyzer: $(PROGRAMS)
samples: $(SAMPLE_BINS)

$(BUILD)/vg-tool/%.o: vg-tool/%.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC(tool) $<")
	$(Q)$(CC) $(TOOL_CPPFLAGS) $(TOOL_CFLAGS) -MMD -MP -c -o $@ $<

$(STAGE)/$(TOOL_NAME): $(TOOL_OBJS)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LD       $@")
	$(Q)$(CC) $(TOOL_CFLAGS) $(TOOL_LDFLAGS) -o $@ $(TOOL_OBJS) $(TOOL_LIBS)

# The preload: Valgrind's malloc replacements and memline's mmap wrapper
# (vg-tool/preload.c).
$(BUILD)/vg-tool/preload.o: vg-tool/preload.c vg-tool/memline.h
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC(pre)  $<")
	$(Q)$(CC) $(TOOL_CPPFLAGS) -O2 -g -std=gnu99 -Wall -fpic -fno-stack-protector \
	  -c -o $@ $<

$(STAGE)/$(PRELOAD_NAME): $(BUILD)/vg-tool/preload.o
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LD       $@")
	$(Q)$(CC) -shared -fpic -nodefaultlibs -Wl,-z,now -o $@ $< \
	  -Wl,--whole-archive $(VG_LIBROOT)/libreplacemalloc_toolpreload-$(VG_PLATFORM).a \
	  -Wl,--no-whole-archive

# The staged directory mirrors Valgrind's own tool directory with symlinks,
# plus memline's two files, so VALGRIND_LIB=build/lib/valgrind works uninstalled.
$(STAGE)/.linked:
	@mkdir -p $(STAGE)
	$(Q)for f in $(VG_TOOLDIR)/*; do \
	  b=$$(basename $$f); \
	  case $$b in memline-*|vgpreload_memline-*) continue;; esac; \
	  [ -e $(STAGE)/$$b ] || ln -s $$f $(STAGE)/$$b; \
	done
	$(Q)touch $@

$(BUILD)/analyzer/%.o: analyzer/%.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC       $<")
	$(Q)$(CC) $(AN_CPPFLAGS) $(AN_CFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

$(AN_LIB): $(AN_LIB_OBJS)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/bin/memline-report: $(BUILD)/analyzer/main.o $(AN_LIB)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LD       $@")
	$(Q)$(CC) $(AN_CFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(AN_LIBS)

$(BUILD)/bin/memline: scripts/memline.sh
	@mkdir -p $(@D)
	$(Q)cp $< $@ && chmod +x $@

$(BUILD)/samples/%: samples/%.c
	@mkdir -p $(@D)
	$(Q)$(CC) $(SAMPLE_CFLAGS) -Ivg-tool -MMD -MP -o $@ $<

$(BUILD)/samples/%: samples/%.cc
	@mkdir -p $(@D)
	$(Q)$(CXX) $(SAMPLE_CFLAGS) -Ivg-tool -MMD -MP -o $@ $<

$(BUILD)/tests/test_%: tests/unit/test_%.c $(AN_LIB)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC(test) $<")
	$(Q)$(CC) $(AN_CPPFLAGS) $(AN_CFLAGS) $(CFLAGS) -MMD -MP -o $@ $< $(AN_LIB) \
	  $(LDFLAGS) -lcmocka $(AN_LIBS)

# test_gheap compares the tool's model of glibc's malloc
# (vg-tool/ml_gheap.c, plain C) with the real glibc: it links that file,
# compiled natively, and nothing else of the project.
$(BUILD)/tests/test_gheap: tests/unit/test_gheap.c vg-tool/ml_gheap.c vg-tool/ml_gheap.h
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC(test) $<")
	$(Q)$(CC) $(AN_CPPFLAGS) $(AN_CFLAGS) $(CFLAGS) -o $@ $< vg-tool/ml_gheap.c \
	  $(LDFLAGS) -lcmocka

unit: $(UNIT_BINS)
	$(Q)sh tests/run-unit.sh $(UNIT_BINS)

e2e: all
	$(Q)sh tests/e2e/run.sh

check: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)$(MAKE) --no-print-directory unit
	$(Q)$(MAKE) --no-print-directory e2e

demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)$(BUILD)/bin/memline --precision 1 $(BUILD)/samples/grow

bench: all
	$(Q)sh scripts/bench.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(VG_TOOLDIR)
	install -m 755 $(BUILD)/bin/memline-report $(DESTDIR)$(PREFIX)/bin/memline-report
	install -m 755 $(BUILD)/bin/memline $(DESTDIR)$(PREFIX)/bin/memline
	install -m 755 $(STAGE)/$(TOOL_NAME) $(DESTDIR)$(VG_TOOLDIR)/$(TOOL_NAME)
	install -m 755 $(STAGE)/$(PRELOAD_NAME) $(DESTDIR)$(VG_TOOLDIR)/$(PRELOAD_NAME)
	install -d $(DESTDIR)$(PREFIX)/include/valgrind
	install -m 644 vg-tool/memline.h $(DESTDIR)$(PREFIX)/include/valgrind/memline.h

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/memline-report $(DESTDIR)$(PREFIX)/bin/memline
	rm -f $(DESTDIR)$(VG_TOOLDIR)/$(TOOL_NAME) $(DESTDIR)$(VG_TOOLDIR)/$(PRELOAD_NAME)
	rm -f $(DESTDIR)$(PREFIX)/include/valgrind/memline.h

clean:
	rm -rf $(BUILD)

-include $(wildcard $(BUILD)/*/*.d)
