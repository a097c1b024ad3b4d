/* text.h: facts about Unicode text that scrubbing (identity) and routing
 * (route) must agree on. */
#ifndef CANARY_TEXT_H
#define CANARY_TEXT_H

#include <glib.h>

/* TRUE for characters of scripts written without spaces between words
 * (Chinese, Japanese, Korean Hangul, Thai, Lao, Khmer, Myanmar): there a
 * name may start or end at any character. */
gboolean canary_text_is_unspaced(gunichar c);

#endif
