"""Word lists for synthetic people and places: names by ethnic group, ethnic mixes by region.

Weights are rough shares, enough for a list that reads like a commune's list: Lạng Sơn is mostly
Nùng and Tày, with Kinh in the towns and Dao, Sán Chay and H'Mông in the hills; the rest of the
country is mostly Kinh, with the groups of each region where they live.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class NameStock:
    """How people of one group are named: family name, middle name by sex, given name by sex."""
    family: tuple[tuple[str, float], ...]
    middle_male: tuple[tuple[str, float], ...]
    middle_female: tuple[tuple[str, float], ...]
    given_male: tuple[str, ...]
    given_female: tuple[str, ...]


_KINH_FAMILY = (("Nguyễn", 38), ("Trần", 11), ("Lê", 9.5), ("Phạm", 7), ("Hoàng", 5), ("Huỳnh", 3),
                ("Phan", 4.5), ("Vũ", 4), ("Võ", 2), ("Đặng", 2), ("Bùi", 2), ("Đỗ", 1.4), ("Hồ", 1.3),
                ("Ngô", 1.3), ("Dương", 1), ("Lý", 0.5), ("Đinh", 1), ("Trịnh", 0.8), ("Đào", 0.8))
_KINH_MIDDLE_MALE = (("Văn", 50), ("Đức", 8), ("Minh", 7), ("Quang", 6), ("Hữu", 6), ("Công", 5),
                     ("Xuân", 4), ("Đình", 5), ("Ngọc", 3), ("Thanh", 3), ("Tiến", 3))
_KINH_MIDDLE_FEMALE = (("Thị", 70), ("Thu", 5), ("Ngọc", 5), ("Thanh", 4), ("Kim", 4), ("Hồng", 4),
                       ("Minh", 3), ("Phương", 3), ("Bích", 2))
_KINH_GIVEN_MALE = ("Hùng", "Dũng", "Tuấn", "Minh", "Sơn", "Thắng", "Hải", "Long", "Nam", "Quang",
                    "Thành", "Bình", "Cường", "Đạt", "Hòa", "Khánh", "Lâm", "Phúc", "Tâm", "Thanh",
                    "Toàn", "Trung", "Vinh", "Việt", "An", "Chiến", "Đông", "Hưng", "Kiên", "Lợi",
                    "Mạnh", "Nghĩa", "Phong", "Quân", "Tài", "Thịnh", "Tiến", "Tùng", "Thụ", "Sửu",
                    "Dần", "Thìn", "Vận", "Lộc", "Hiển", "Khải")
_KINH_GIVEN_FEMALE = ("Mai", "Lan", "Hoa", "Hương", "Hằng", "Hạnh", "Huệ", "Nga", "Nhung", "Oanh",
                      "Phương", "Thảo", "Thủy", "Trang", "Tuyết", "Vân", "Yến", "Liên", "Loan", "Dung",
                      "Đào", "Hiền", "Lý", "Ngọc", "Nguyệt", "Sen", "Tâm", "Thu", "Cúc", "Xuân", "Tý",
                      "Mận", "Lựu", "Nhì", "Gái", "Huê", "Bích")

_TAY_NUNG_FAMILY = (("Hoàng", 14), ("Nông", 10), ("Vi", 8), ("Lương", 6), ("Lộc", 5), ("Lục", 4),
                    ("Chu", 4), ("Mã", 3), ("Hà", 4), ("Triệu", 3), ("Lăng", 3), ("Hứa", 3), ("Bế", 3),
                    ("Đàm", 3), ("Dương", 3), ("Lành", 2), ("Mông", 2), ("Tô", 2), ("Nguyễn", 8),
                    ("Lý", 3), ("Lường", 1))
_TAY_NUNG_GIVEN_MALE = _KINH_GIVEN_MALE[:20] + ("Pình", "Sình", "Lìn", "Khìn", "Sáng", "Phìn", "Dìn",
                                                 "Vằn", "Cáy", "Páo", "Slấn", "Sầm")
_TAY_NUNG_GIVEN_FEMALE = _KINH_GIVEN_FEMALE[:20] + ("Mảy", "Lìu", "Pằn", "Thìn", "Phấy", "Mỷ",
                                                     "Nhình", "Nhộng", "Hìn")

_THAI_FAMILY = (("Lò", 25), ("Lường", 15), ("Cầm", 12), ("Quàng", 10), ("Điêu", 8), ("Tòng", 8),
                ("Lự", 5), ("Vì", 8), ("Hà", 9))
_THAI_GIVEN_MALE = ("Pánh", "Ỏn", "Inh", "Pọm", "Xiêng", "Chăn", "Khăm", "Piêng", "Sơn", "Hùng")
_THAI_GIVEN_FEMALE = ("Ơn", "Xuân", "Ín", "Lả", "Hom", "Phăn", "Bua", "Ngọc", "Lan", "Thoa")

_DAO_FAMILY = (("Triệu", 30), ("Bàn", 25), ("Đặng", 20), ("Lý", 15), ("Phùng", 5), ("Chảo", 5))
_DAO_MIDDLE_MALE = (("Văn", 60), ("Tòn", 20), ("Vần", 10), ("Quẩy", 10))
_DAO_GIVEN_MALE = ("Chàn", "Phụ", "Quẩy", "Sành", "Chòi", "Vảng", "Tá", "Sinh", "Kiềm", "Phin")
_DAO_GIVEN_FEMALE = ("Mẩy", "Nhất", "Xuyến", "Kiều", "Xuân", "Mai", "Liều", "Cói", "Pham", "Chiêu")

_HMONG_FAMILY = (("Giàng", 20), ("Thào", 15), ("Vàng", 15), ("Sùng", 12), ("Lầu", 10), ("Mùa", 10),
                 ("Hầu", 8), ("Lý", 6), ("Mua", 4))
_HMONG_GIVEN_MALE = ("Páo", "Sính", "Chứ", "Dế", "Pó", "Lử", "Súa", "Tráng", "Pao", "Chống")
_HMONG_GIVEN_FEMALE = ("Mỷ", "Máy", "Dở", "Chờ", "Sua", "Pà", "Dung", "Mai", "Say", "Của")

_SAN_CHAY_FAMILY = (("Hoàng", 20), ("Lý", 15), ("Trần", 12), ("Nịnh", 10), ("Lâm", 10), ("Hà", 10),
                    ("Lục", 8), ("Chu", 8), ("Phùng", 7))

_KHMER_FAMILY = (("Thạch", 30), ("Danh", 20), ("Sơn", 20), ("Kim", 10), ("Lâm", 8), ("Lý", 7),
                 ("Trịnh", 5))
_KHMER_GIVEN_MALE = ("Sóc", "Phal", "Sa Rết", "Sô Phal", "Ri", "Sang", "Khen", "Thươl", "Chanh", "Pho")
_KHMER_GIVEN_FEMALE = ("Sa Ry", "Sô Phia", "Thy", "Mây", "Sa Quanh", "Ni", "Chăn Tha", "Phương",
                       "Sóc Kha", "Ry")

_CENTRAL_HIGHLANDS_FAMILY = (("Niê", 20), ("Êban", 12), ("Mlô", 8), ("Adrơng", 6), ("Byă", 6),
                             ("Ksor", 18), ("Rơ Mah", 12), ("Siu", 10), ("Rơ Lan", 8))
_CENTRAL_HIGHLANDS_GIVEN_MALE = ("Y Bih", "Y Ngông", "Y Thu", "Y Kông", "Y Jút", "Y Blô", "Y Nhuôn",
                                 "Y Sơn", "Y Krăk", "Y Đhăm")
_CENTRAL_HIGHLANDS_GIVEN_FEMALE = ("H'Hen", "H'Bao", "H'Zin", "H'Nhi", "H'Linh", "H'Juin", "H'Loan",
                                   "H'Ngoan", "H'Ly", "H'Yâm")

_NO_MIDDLE = (("", 1),)
_A_MIDDLE = (("A", 1),)
_THI_MIDDLE = (("Thị", 1),)

STOCKS: dict[str, NameStock] = {
    "Kinh": NameStock(_KINH_FAMILY, _KINH_MIDDLE_MALE, _KINH_MIDDLE_FEMALE, _KINH_GIVEN_MALE,
                      _KINH_GIVEN_FEMALE),
    "Tày": NameStock(_TAY_NUNG_FAMILY, _KINH_MIDDLE_MALE, _KINH_MIDDLE_FEMALE, _TAY_NUNG_GIVEN_MALE,
                     _TAY_NUNG_GIVEN_FEMALE),
    "Nùng": NameStock(_TAY_NUNG_FAMILY, _KINH_MIDDLE_MALE, _KINH_MIDDLE_FEMALE, _TAY_NUNG_GIVEN_MALE,
                      _TAY_NUNG_GIVEN_FEMALE),
    "Thái": NameStock(_THAI_FAMILY, (("Văn", 1),), _THI_MIDDLE, _THAI_GIVEN_MALE, _THAI_GIVEN_FEMALE),
    "Dao": NameStock(_DAO_FAMILY, _DAO_MIDDLE_MALE, _THI_MIDDLE, _DAO_GIVEN_MALE, _DAO_GIVEN_FEMALE),
    "H'Mông": NameStock(_HMONG_FAMILY, _A_MIDDLE, _THI_MIDDLE, _HMONG_GIVEN_MALE, _HMONG_GIVEN_FEMALE),
    "Sán Chay": NameStock(_SAN_CHAY_FAMILY, _KINH_MIDDLE_MALE, _KINH_MIDDLE_FEMALE, _TAY_NUNG_GIVEN_MALE,
                          _TAY_NUNG_GIVEN_FEMALE),
    "Khmer": NameStock(_KHMER_FAMILY, _NO_MIDDLE, _THI_MIDDLE, _KHMER_GIVEN_MALE, _KHMER_GIVEN_FEMALE),
    # Ê Đê and Gia Rai put the clan name last ("Y Bih Niê"); `people.full_name` knows.
    "Ê Đê": NameStock(_CENTRAL_HIGHLANDS_FAMILY[:5], _NO_MIDDLE, _NO_MIDDLE,
                      _CENTRAL_HIGHLANDS_GIVEN_MALE, _CENTRAL_HIGHLANDS_GIVEN_FEMALE),
    "Gia Rai": NameStock(_CENTRAL_HIGHLANDS_FAMILY[5:], _NO_MIDDLE, _NO_MIDDLE,
                         _CENTRAL_HIGHLANDS_GIVEN_MALE, _CENTRAL_HIGHLANDS_GIVEN_FEMALE),
}
CLAN_LAST = frozenset({"Ê Đê", "Gia Rai"})

# Children born since about 2008 carry the two-syllable given names of their generation.
MODERN_GIVEN_MALE = ("Gia Bảo", "Minh Khôi", "Đăng Khoa", "Bảo An", "Minh Quân", "Anh Tú", "Đức Anh",
                     "Hoàng Long", "Tuấn Kiệt", "Hải Đăng", "Gia Huy", "Trung Kiên")
MODERN_GIVEN_FEMALE = ("Ngọc Hân", "Khánh Linh", "Bảo Ngọc", "Minh Anh", "Thảo Vy", "Phương Anh",
                       "Gia Hân", "Tú Anh", "Kim Ngân", "Thu Trang", "Hà My", "Diệu Linh")

# Ethnic mixes by 2025 province code (shares of beneficiaries, rounded).
_NORTHERN_HILLS = (("Kinh", 30), ("Tày", 25), ("Nùng", 15), ("Dao", 10), ("H'Mông", 10), ("Thái", 10))
_NORTHWEST = (("Thái", 40), ("H'Mông", 25), ("Kinh", 25), ("Dao", 5), ("Tày", 5))
_CENTRAL_HIGHLANDS = (("Kinh", 65), ("Ê Đê", 15), ("Gia Rai", 15), ("Nùng", 3), ("Tày", 2))
_MEKONG_KHMER = (("Kinh", 80), ("Khmer", 20))
_KINH_ONLY = (("Kinh", 97), ("Tày", 1), ("Khmer", 1), ("Thái", 1))
ETHNIC_MIX: dict[str, tuple[tuple[str, float], ...]] = {
    "20": (("Nùng", 42), ("Tày", 35), ("Kinh", 16), ("Dao", 3.5), ("Sán Chay", 2), ("H'Mông", 1.5)),
    "04": (("Tày", 40), ("Nùng", 30), ("Kinh", 8), ("H'Mông", 10), ("Dao", 10), ("Sán Chay", 2)),
    "08": _NORTHERN_HILLS, "15": _NORTHERN_HILLS, "19": _NORTHERN_HILLS,
    "11": _NORTHWEST, "12": _NORTHWEST, "14": _NORTHWEST,
    "52": _CENTRAL_HIGHLANDS, "66": _CENTRAL_HIGHLANDS, "68": _CENTRAL_HIGHLANDS,
    "91": _MEKONG_KHMER, "92": _MEKONG_KHMER, "86": _MEKONG_KHMER,
}
DEFAULT_ETHNIC_MIX = _KINH_ONLY

# Villages: Tày–Nùng place names in the northern hills, "Ấp" in the south, numbered elsewhere.
TAY_PLACE_FIRST = ("Nà", "Pác", "Khuổi", "Bản", "Pò", "Khau", "Còn", "Phiêng", "Lũng", "Bó", "Kéo",
                   "Nặm", "Cốc", "Khòn", "Hát")
TAY_PLACE_SECOND = ("Lầu", "Cại", "Pàn", "Rạo", "Mò", "Chang", "Luông", "Ngàn", "Tẳng", "Hán", "Slằng",
                    "Nưa", "Cáy", "Khuông", "Pổng", "Sla", "Mạ", "Lùng", "Phầy", "Bây")
SOUTHERN_PLACE = ("Mỹ Hòa", "Tân Lập", "Phú Thạnh", "Long Hưng", "An Phú", "Bình Thạnh", "Hòa Lợi",
                  "Vĩnh Phước", "Thạnh Mỹ", "Tân Thới", "Phước Lộc", "Trà Canh")
NORTHERN_HILL_PROVINCES = frozenset({"20", "04", "08", "15", "19", "11", "12", "14"})
SOUTHERN_PROVINCES = frozenset({"79", "80", "82", "86", "91", "92", "96", "75"})

GUARDIAN_RELATIONS_CHILD = ("mẹ", "bố", "bà nội", "ông nội", "bà ngoại", "cô ruột", "bác ruột")
PROXY_RELATIONS_ELDER = ("con trai", "con gái", "con dâu", "cháu nội", "cháu ngoại")
