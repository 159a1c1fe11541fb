/*
 * controls.c - look-ups over the control library (controls.h).
 */
#include "base/base.h"
#include "base/i18n.h"
#include "isms/controls.h"

const struct annex_control *annex_control_find(const char *id)
{
	if (!id)
		return NULL;
	for (size_t i = 0; i < annex_ncontrols; i++)
		if (!strcmp(annex_controls[i].id, id))
			return &annex_controls[i];
	return NULL;
}

const char *annex_theme_label(unsigned theme)
{
	switch (theme) {
	case ANNEX_ORGANIZATIONAL:
		return T("組織的管理策", "Organizational controls");
	case ANNEX_PEOPLE:
		return T("人的管理策", "People controls");
	case ANNEX_PHYSICAL:
		return T("物理的管理策", "Physical controls");
	case ANNEX_TECHNOLOGICAL:
		return T("技術的管理策", "Technological controls");
	default:
		return "?";
	}
}

const struct mic_chapter *mic_chapter_find(const char *id)
{
	if (!id)
		return NULL;
	for (size_t i = 0; i < mic_nchapters; i++)
		if (!strcmp(mic_chapters[i].id, id))
			return &mic_chapters[i];
	return NULL;
}

size_t mic_chapters_of(const char *control_id, const struct mic_chapter **out, size_t cap)
{
	size_t n = 0;

	if (!control_id)
		return 0;
	for (size_t i = 0; i < mic_nchapters; i++)
		for (size_t j = 0; j < mic_chapters[i].ncontrols; j++)
			if (!strcmp(mic_chapters[i].controls[j], control_id)) {
				if (n < cap)
					out[n] = &mic_chapters[i];
				n++;
				break;
			}
	return n;
}
