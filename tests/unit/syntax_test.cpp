// SPDX-License-Identifier: GPL-3.0-or-later
// Plate syntax: regions, formats, confusable-character resolution and candidate ranking.
#include <gtest/gtest.h>

#include "lethe/ocr/plate_syntax.h"

namespace lethe::ocr {
namespace {

/// Per-position alternatives from a text, each character certain to `p`.
std::vector<CharAlternatives> read_as(const std::string &text, float p = 0.95F)
{
	std::vector<CharAlternatives> v;
	for (char c : text)
		v.push_back({{c, p}});
	return v;
}

TEST(Syntax, ParsesRegions)
{
	EXPECT_EQ(parse_region("us").value(), Region::Us);
	EXPECT_EQ(parse_region("eu").value(), Region::Eu);
	EXPECT_EQ(parse_region("br").value(), Region::Br);
	EXPECT_FALSE(parse_region("xx").ok());
	EXPECT_EQ(region_name(Region::Br), "br");
}

TEST(Syntax, BrazilAcceptsOnlyItsFormats)
{
	const auto br = PlateSyntax::for_region(Region::Br);
	EXPECT_GT(br.match("PAG5219"), 0.0F);  // grey LLLNNNN
	EXPECT_GT(br.match("BRA2E19"), 0.0F);  // Mercosur LLLNLNN
	EXPECT_EQ(br.match("PAG521"), 0.0F);   // too short
	EXPECT_EQ(br.match("P4G5219"), 0.0F);  // digit where a letter belongs
	EXPECT_EQ(br.min_length(), 7U);
	EXPECT_EQ(br.max_length(), 7U);
}

TEST(Syntax, UsAcceptsVanityLengths)
{
	const auto us = PlateSyntax::for_region(Region::Us);
	EXPECT_EQ(us.min_length(), 5U);
	EXPECT_EQ(us.max_length(), 8U);
	EXPECT_GT(us.match("NEILDMND"), 0.0F);
	EXPECT_GT(us.match("7ABC123"), us.match("7AB12C3")); // a serial format beats generic
	EXPECT_EQ(us.match("ABC"), 0.0F);
}

TEST(Syntax, CoerceSwapsConfusablesByPosition)
{
	EXPECT_EQ(PlateSyntax::coerce("PAG52I9", "LLLNNNN"), "PAG5219");
	EXPECT_EQ(PlateSyntax::coerce("P4G5219", "LLLNNNN"), "PAG5219");
	EXPECT_EQ(PlateSyntax::coerce("8RA2E19", "LLLNLNN"), "BRA2E19");
	EXPECT_EQ(PlateSyntax::coerce("OSZ6G5B", "NNNNNNN"), "0526658");
	EXPECT_EQ(PlateSyntax::coerce("ABC5O1S", "LLLNNNN"), "ABC5015");
	EXPECT_EQ(PlateSyntax::coerce("ABC", "LLLN"), "");         // length differs
	EXPECT_EQ(PlateSyntax::coerce("ABCX123", "LLLNNNN"), ""); // X has no digit twin
}

TEST(Syntax, RankResolvesEachConfusablePairInBrazil)
{
	const auto br = PlateSyntax::for_region(Region::Br);
	// Each pair in both directions: the recogniser's letter in a digit position (the 6th,
	// a digit in both grey and Mercosur plates), and its digit in a letter position.
	const std::pair<std::string, std::string> cases[] = {
		{"ABC12O4", "ABC1204"}, {"0BC1234", "OBC1234"}, {"ABC12I4", "ABC1214"},
		{"A1C1234", "AIC1234"}, {"ABC12B4", "ABC1284"}, {"A8C1234", "ABC1234"},
		{"ABC12S4", "ABC1254"}, {"A5C1234", "ASC1234"}, {"ABC12Z4", "ABC1224"},
		{"A2C1234", "AZC1234"}, {"ABC12G4", "ABC1264"}, {"A6C1234", "AGC1234"},
	};
	for (const auto &[read, want] : cases) {
		const auto c = br.rank(read_as(read), 5);
		ASSERT_FALSE(c.empty()) << read;
		EXPECT_EQ(c.front().text, want) << read;
	}
}

TEST(Syntax, RankUsesAlternativesAndKeepsCandidatesOrdered)
{
	const auto br = PlateSyntax::for_region(Region::Br);
	auto pos = read_as("PAG5219");
	// The recogniser is unsure of the 4th character: 'S' 0.5, '5' 0.4.
	pos[3] = {{'S', 0.5F}, {'5', 0.4F}};
	const auto c = br.rank(pos, 4);
	ASSERT_GE(c.size(), 2U);
	EXPECT_EQ(c.front().text, "PAG5219");
	for (std::size_t i = 1; i < c.size(); ++i) {
		EXPECT_LE(c[i].confidence, c[i - 1].confidence);
		EXPECT_NE(c[i].text, c[i - 1].text);
	}
	EXPECT_LE(c.size(), 4U);
}

TEST(Syntax, ConfidenceIsInRangeAndFallsWithDoubt)
{
	const auto eu = PlateSyntax::for_region(Region::Eu);
	const auto sure = eu.rank(read_as("BA482KR", 0.99F), 3);
	const auto unsure = eu.rank(read_as("BA482KR", 0.6F), 3);
	ASSERT_FALSE(sure.empty());
	ASSERT_FALSE(unsure.empty());
	EXPECT_EQ(sure.front().text, "BA482KR");
	EXPECT_GT(sure.front().confidence, unsure.front().confidence);
	for (const auto &c : sure) {
		EXPECT_GE(c.confidence, 0.0F);
		EXPECT_LE(c.confidence, 1.0F);
	}
	EXPECT_GT(sure.front().confidence, 0.8F);
}

TEST(Syntax, DropsASpuriousEdgeMark)
{
	const auto br = PlateSyntax::for_region(Region::Br);
	auto pos = read_as("IPAG5219");
	pos[0] = {{'I', 0.4F}};
	const auto c = br.rank(pos, 3);
	ASSERT_FALSE(c.empty());
	EXPECT_EQ(c.front().text, "PAG5219");
}

TEST(Syntax, NothingWhenNoFormatFits)
{
	const auto br = PlateSyntax::for_region(Region::Br);
	EXPECT_TRUE(br.rank(read_as("ABC"), 5).empty());
	EXPECT_TRUE(br.rank({}, 5).empty());
	EXPECT_TRUE(br.rank(read_as("PAG5219"), 0).empty());
}

} // namespace
} // namespace lethe::ocr
