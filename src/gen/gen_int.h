/*
 * gen_int.h - private to src/gen: the name tables of the generator.
 */
#ifndef MAMORI_GEN_INT_H
#define MAMORI_GEN_INT_H

#include "base/base.h"

/* Common Japanese surnames, most frequent first (rank order matters: the
 * generator draws them with a Zipf-like weight 1/(rank+10)). */
extern const char *const gen_surnames[];
extern const size_t gen_n_surnames;
extern const char *const gen_given_m[];
extern const size_t gen_n_given_m;
extern const char *const gen_given_f[];
extern const size_t gen_n_given_f;

#endif
