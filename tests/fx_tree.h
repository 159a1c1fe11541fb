/*
 * fx_tree.h - for tests: remove a directory tree made by a test (files,
 * subdirectories, then the directory itself), or a single file. Errors are
 * ignored: a test's scratch directory left behind is not a failure.
 */
#ifndef MAMORI_TESTS_FX_TREE_H
#define MAMORI_TESTS_FX_TREE_H

#include <ftw.h>
#include <stdio.h>
#include <sys/stat.h>

static int fx_rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static inline void fx_rm_tree(const char *dir)
{
	(void)nftw(dir, fx_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

#endif
