/* test_source.c -- source resolution (--substitute-path, --source-dir,
   suffixes, basename), line splitting, the closing-brace rule and change
   detection against FILE facts. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hash.h"
#include "source.h"

static char root[64];

static void put(const char *rel, const char *text)
{
   char path[256];
   snprintf(path, sizeof path, "%s/%s", root, rel);
   for (char *p = path + strlen(root) + 1; *p; p++)
      if (*p == '/') {
         *p = '\0';
         mkdir(path, 0700);
         *p = '/';
      }
   FILE *fp = fopen(path, "w");
   assert_non_null(fp);
   fputs(text, fp);
   fclose(fp);
}

static int setup(void **state)
{
   (void)state;
   snprintf(root, sizeof root, "/tmp/memline-src-XXXXXX");
   if (!mkdtemp(root))
      return -1;
   put("src/sub/a.c", "int f(void)\r\n{\r\n   return 1;\r\n}\r\n");
   put("b.c", "line1\nline2");
   return 0;
}

static int teardown(void **state)
{
   (void)state;
   char cmd[128];
   snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
   return system(cmd);
}

static const char *resolved(ml_source *s, const char *rec)
{
   ml_err err;
   const ml_source_file *f = ml_source_get(s, rec, NULL, &err);
   assert_non_null(f);
   return ml_source_resolved(f);
}

static void test_resolution(void **state)
{
   (void)state;
   ml_err err;
   char want[256], rule[256];
   snprintf(want, sizeof want, "%s/src/sub/a.c", root);

   ml_source *s = ml_source_new(&err);
   assert_null(resolved(s, "/build/proj/src/sub/a.c"));
   ml_source_free(s);

   /* --source-dir: the longest suffix that exists */
   s = ml_source_new(&err);
   assert_int_equal(ml_source_add_dir(s, root, &err), 0);
   assert_string_equal(resolved(s, "/build/proj/src/sub/a.c"), want);
   /* relative recorded path */
   assert_string_equal(resolved(s, "src/sub/a.c"), want);
   /* basename only */
   snprintf(want, sizeof want, "%s/b.c", root);
   assert_string_equal(resolved(s, "/elsewhere/b.c"), want);
   ml_source_free(s);

   /* --substitute-path: prefix at a '/' boundary only */
   s = ml_source_new(&err);
   snprintf(rule, sizeof rule, "/build/pro=%s", root);
   assert_int_equal(ml_source_add_subst(s, rule, &err), 0);
   assert_null(resolved(s, "/build/proj/src/sub/a.c"));
   ml_source_free(s);
   s = ml_source_new(&err);
   snprintf(rule, sizeof rule, "/build/proj/=%s", root);
   assert_int_equal(ml_source_add_subst(s, rule, &err), 0);
   snprintf(want, sizeof want, "%s/src/sub/a.c", root);
   assert_string_equal(resolved(s, "/build/proj/src/sub/a.c"), want);
   /* cached: the same object comes back */
   assert_ptr_equal(ml_source_get(s, "/build/proj/src/sub/a.c", NULL, &err),
                    ml_source_get(s, "/build/proj/src/sub/a.c", NULL, &err));

   assert_int_equal(ml_source_add_subst(s, "noequals", &err), ML_EINVAL);
   assert_string_equal(err.msg,
                       "--substitute-path: expected OLD=NEW, got 'noequals'");
   assert_int_equal(ml_source_add_subst(s, "=x", &err), ML_EINVAL);
   ml_source_free(s);
   ml_source_free(NULL);
}

static void test_lines_and_brace(void **state)
{
   (void)state;
   ml_err err;
   ml_source *s = ml_source_new(&err);
   ml_source_add_dir(s, root, &err);
   const ml_source_file *f = ml_source_get(s, "src/sub/a.c", NULL, &err);
   assert_true(ml_source_found(f));
   assert_int_equal(ml_source_nlines(f), 4);
   size_t n;
   const char *l = ml_source_line(f, 3, &n);
   assert_int_equal(n, 12);                      /* "\r\n" stripped */
   assert_memory_equal(l, "   return 1;", 12);
   assert_null(ml_source_line(f, 5, &n));
   assert_null(ml_source_line(f, 0, &n));
   assert_int_equal(ml_source_function_end(f, 1, 1), 4);
   assert_int_equal(ml_source_function_end(f, 1, 4), 4);

   f = ml_source_get(s, "b.c", NULL, &err);
   assert_int_equal(ml_source_nlines(f), 2);     /* no final newline */
   l = ml_source_line(f, 2, &n);
   assert_int_equal(n, 5);
   assert_memory_equal(l, "line2", 5);
   assert_int_equal(ml_source_function_end(f, 1, 1), 1);   /* no brace */
   ml_source_free(s);

   /* the look-ahead stops after 2000 lines */
   char *big = malloc(2100 * 4 + 8);
   size_t k = 0;
   for (int i = 0; i < 2100; i++)
      k += (size_t)sprintf(big + k, i == 2050 ? "}\n" : "x;\n");
   put("big.c", big);
   free(big);
   s = ml_source_new(&err);
   ml_source_add_dir(s, root, &err);
   f = ml_source_get(s, "big.c", NULL, &err);
   assert_int_equal(ml_source_function_end(f, 1, 1), 1);
   assert_int_equal(ml_source_function_end(f, 1, 100), 2051);
   ml_source_free(s);

   /* the declarator above a lone '{' belongs to the function */
   put("kr.c", "#include <x.h>\n"           /* 1 */
               "int x = 1;\n"               /* 2 */
               "/* doc */\n"                /* 3 */
               "static int\n"               /* 4 */
               "f(int a,\n"                 /* 5 */
               "  int b)\n"                 /* 6 */
               "  {\n"                      /* 7 */
               "   return a;\n"             /* 8 */
               "}\n"                        /* 9 */
               "int g(void) {\n"            /* 10 */
               "}\n"                        /* 11 */
               "\n"                         /* 12 */
               "{\n");                      /* 13 */
   s = ml_source_new(&err);
   ml_source_add_dir(s, root, &err);
   f = ml_source_get(s, "kr.c", NULL, &err);
   assert_int_equal(ml_source_function_start(f, 7), 4);
   assert_int_equal(ml_source_function_start(f, 8), 4);   /* in the body */
   assert_int_equal(ml_source_function_start(f, 10), 10);
   assert_int_equal(ml_source_function_start(f, 13), 13); /* blank above */
   assert_int_equal(ml_source_function_start(f, 99), 99); /* no such line */
   ml_source_free(s);
}

/* A new ml_source looking in the test's root (*s, to free), and its file
   rel, which must be found. */
static const ml_source_file *found_in_root(ml_source **s, const char *rel)
{
   ml_err err;
   *s = ml_source_new(&err);
   assert_non_null(*s);
   ml_source_add_dir(*s, root, &err);
   const ml_source_file *f = ml_source_get(*s, rel, NULL, &err);
   assert_true(ml_source_found(f));
   return f;
}

/* A C++ member function inside a class (indented braces) ends at its
   own '}', not at the class's or the namespace's. */
static void test_function_end_braces(void **state)
{
   (void)state;
   put("cls.h", "namespace n {\n"                   /* 1 */
                "struct S {\n"                      /* 2 */
                "  int f(int x)\n"                  /* 3 */
                "  {\n"                             /* 4 */
                "    if (x) {\n"                    /* 5 */
                "      x += '{';  // {{\n"          /* 6 */
                "    }\n"                           /* 7 */
                "    const char *s = \"}}\\\"}\";\n"  /* 8 */
                "    /* } { */ return x + *s;\n"    /* 9 */
                "  }\n"                             /* 10 */
                "  int g() { return 1; }\n"         /* 11 */
                "  int h() {\n"                     /* 12 */
                "    /* }\n"                        /* 13 */
                "       } */ return 2;\n"           /* 14 */
                "  }\n"                             /* 15 */
                "};\n"                              /* 16 */
                "}\n");                             /* 17 */
   ml_source *s;
   const ml_source_file *f = found_in_root(&s, "cls.h");
   assert_int_equal(ml_source_function_start(f, 4), 3);
   assert_int_equal(ml_source_function_end(f, 3, 5), 10);   /* from the '{' */
   assert_int_equal(ml_source_function_end(f, 3, 10), 10);
   assert_int_equal(ml_source_function_end(f, 5, 9), 10);   /* inside body */
   assert_int_equal(ml_source_function_end(f, 11, 11), 11); /* one line */
   assert_int_equal(ml_source_function_end(f, 12, 12), 15);
   ml_source_free(s);
}

/* Optimised code's first executed line lies inside the body: the
   listing starts at the function's declarator all the same; a line
   that continues a declarator is left as it is. */
static void test_function_start_in_body(void **state)
{
   (void)state;
   put("o2.c", "int g;\n"                         /* 1 */
               "static int\n"                     /* 2 */
               "f(int n)\n"                       /* 3 */
               "{\n"                              /* 4 */
               "    int a = 0;  /* { */\n"        /* 5 */
               "    for (int i = 0; i < n; i++) {\n" /* 6 */
               "        a += i;\n"                /* 7 */
               "    }\n"                          /* 8 */
               "    puts(\"}\");\n"             /* 9 */
               "    return a;\n"                  /* 10 */
               "}\n"                              /* 11 */
               "int h(int x) {\n"                 /* 12 */
               "    x++;\n"                       /* 13 */
               "    return x;\n"                  /* 14 */
               "}\n"                              /* 15 */
               "  typename T::type\n"             /* 16 */
               "  operator()()\n"                 /* 17 */
               "  { return 0; }\n"                /* 18 */
               "namespace ns {\n"                 /* 19 */
               "int g(void) { return 1; }\n"      /* 20 */
               "int k(void);\n"                   /* 21 */
               "int f2(int x) {\n"                /* 22 */
               "    return x;\n"                  /* 23 */
               "}\n"                              /* 24 */
               "}\n"                              /* 25 */
               "struct B {\n"                     /* 26 */
               "  B() : v() { }\n"                /* 27 */
               "\n"                               /* 28 */
               "  B(int x)\n"                     /* 29 */
               "  : v(x) { }\n"                   /* 30 */
               "  int v;\n"                       /* 31 */
               "  B(const B&) = default;\n"       /* 32 */
               "  int\n"                          /* 33 */
               "  get() const\n"                  /* 34 */
               "  { return v; }\n"                /* 35 */
               "  int w;\n"                       /* 36 */
               "  ~B() { v = 0; };\n"             /* 37 */
               "};\n");                           /* 38 */
   ml_source *s;
   const ml_source_file *f = found_in_root(&s, "o2.c");
   assert_int_equal(ml_source_function_start(f, 4), 2);    /* lone '{' */
   assert_int_equal(ml_source_function_start(f, 5), 2);
   assert_int_equal(ml_source_function_start(f, 6), 2);
   assert_int_equal(ml_source_function_start(f, 10), 2);   /* past a block */
   assert_int_equal(ml_source_function_end(f, 2, 10), 11);
   assert_int_equal(ml_source_function_start(f, 14), 12);  /* '{' at the end */
   assert_int_equal(ml_source_function_start(f, 17), 17);  /* declarator */
   /* a head that opens its body, after a declaration, in a namespace:
      not a statement, so not the namespace's '{' */
   assert_int_equal(ml_source_function_start(f, 22), 22);
   assert_int_equal(ml_source_function_start(f, 23), 22);
   assert_int_equal(ml_source_function_end(f, 22, 23), 24);
   /* a constructor's declarator above its initializer list */
   assert_int_equal(ml_source_function_start(f, 29), 29);
   assert_int_equal(ml_source_function_end(f, 29, 30), 30);
   assert_int_equal(ml_source_function_end(f, 29, 29), 30);
   /* a member declaration that ends with ';' inside a class: the class's
      '{' is not a function's */
   assert_int_equal(ml_source_function_start(f, 32), 32);
   /* an implicit member at the class's head: that line alone */
   assert_int_equal(ml_source_function_start(f, 26), 26);
   assert_int_equal(ml_source_function_end(f, 26, 26), 26);
   assert_int_equal(ml_source_function_end(f, 32, 32), 32);  /* = default */
   assert_int_equal(ml_source_function_end(f, 37, 37), 37);  /* '{ };' */
   /* a statement alone is not a function: on to the closing brace */
   assert_int_equal(ml_source_function_end(f, 10, 10), 11);
   /* the body on one line below the declarator */
   assert_int_equal(ml_source_function_end(f, 34, 34), 35);
   ml_source_free(s);
}

/* A path naming a FIFO (or any file that is not a regular one) is a
   source not found, at once: opening it for reading must not wait for a
   writer, which would hang the report. */
static void test_not_regular(void **state)
{
   (void)state;
   ml_err err;
   char path[256];
   snprintf(path, sizeof path, "%s/fifo.c", root);
   assert_int_equal(mkfifo(path, 0600), 0);
   ml_source *s = ml_source_new(&err);
   const ml_source_file *f = ml_source_get(s, path, NULL, &err);
   assert_non_null(f);
   assert_false(ml_source_found(f));
   uint64_t h;
   assert_int_not_equal(ml_source_hash_file(path, &h), 0);
   snprintf(path, sizeof path, "%s/src", root);      /* a directory */
   assert_false(ml_source_found(ml_source_get(s, path, NULL, &err)));
   ml_source_free(s);
}

static void test_changed(void **state)
{
   (void)state;
   ml_err err;
   char path[256];
   snprintf(path, sizeof path, "%s/b.c", root);
   struct stat st;
   assert_int_equal(stat(path, &st), 0);
   uint64_t h;
   assert_int_equal(ml_source_hash_file(path, &h), 0);
   assert_true(h == ml_fnv1a64("line1\nline2", 11, ML_FNV1A64_INIT));

   struct { ml_file_facts f; int changed; } cases[] = {
      { { 11, (uint64_t)st.st_mtime, 0 }, 0 },
      { { 11, (uint64_t)st.st_mtime + 1, 0 }, 1 },  /* mtime, no hash */
      { { 12, (uint64_t)st.st_mtime, 0 }, 1 },      /* size */
      { { 11, 1, h }, 0 },                          /* hash equal wins */
      { { 11, (uint64_t)st.st_mtime, h ^ 1 }, 1 },  /* hash differs */
   };
   for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
      ml_source *s = ml_source_new(&err);
      const ml_source_file *f = ml_source_get(s, path, &cases[i].f, &err);
      assert_true(ml_source_found(f));
      assert_int_equal(ml_source_changed(f), cases[i].changed);
      ml_source_free(s);
   }
}

int main(void)
{
   const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_resolution),
      cmocka_unit_test(test_lines_and_brace),
      cmocka_unit_test(test_function_end_braces),
      cmocka_unit_test(test_function_start_in_body),
      cmocka_unit_test(test_not_regular),
      cmocka_unit_test(test_changed),
   };
   return cmocka_run_group_tests(tests, setup, teardown);
}
